//! Watermarks end to end, on pixels: placement by each of the nine gravities, opacity, tiling,
//! `P` scaling, Chinese text, and the errors for missing, non-image and out-of-bucket objects.

mod common;

use common::{b64, png, read, run_in, temp_dir};
use image::{DynamicImage, Rgb, RgbImage, Rgba, RgbaImage};
use imgedge::transform::Code;

const GREY: [u8; 3] = [128, 128, 128];

/// A bucket with a 300×300 grey main image, a 30×30 red square, a text file and a GIF.
fn bucket(name: &str) -> (std::path::PathBuf, Vec<u8>) {
    let dir = temp_dir(name);
    let main = png(&DynamicImage::ImageRgb8(RgbImage::from_pixel(300, 300, Rgb(GREY))));
    std::fs::write(dir.join("main.png"), &main).unwrap();
    let red = DynamicImage::ImageRgba8(RgbaImage::from_pixel(30, 30, Rgba([255, 0, 0, 255])));
    std::fs::write(dir.join("red.png"), png(&red)).unwrap();
    std::fs::write(
        dir.join("big.png"),
        png(&DynamicImage::ImageRgba8(RgbaImage::from_pixel(100, 100, Rgba([255, 0, 0, 255])))),
    )
    .unwrap();
    std::fs::write(dir.join("notes.txt"), b"not an image").unwrap();
    std::fs::write(dir.join("anim.gif"), read("oss/example.gif")).unwrap();
    (dir, main)
}

fn is_red(p: [u8; 3]) -> bool {
    p[0] > 200 && p[1] < 60 && p[2] < 60
}

/// Red pixels in each cell of a 3×3 grid, row by row.
fn red_per_cell(img: &RgbImage) -> [usize; 9] {
    let mut cells = [0; 9];
    let (cw, ch) = (img.width() / 3, img.height() / 3);
    for (x, y, p) in img.enumerate_pixels() {
        if is_red(p.0) {
            cells[((y / ch).min(2) * 3 + (x / cw).min(2)) as usize] += 1;
        }
    }
    cells
}

fn render(dir: &std::path::Path, main: &[u8], process: &str) -> RgbImage {
    let out = run_in(dir, main, process).unwrap_or_else(|e| panic!("{process}: {e}"));
    image::load_from_memory(&out.body).unwrap().to_rgb8()
}

#[test]
fn each_gravity_lands_in_its_cell_and_leaves_the_opposite_alone() {
    let (dir, main) = bucket("wm-gravity");
    let grav = ["nw", "north", "ne", "west", "center", "east", "sw", "south", "se"];
    for (i, g) in grav.iter().enumerate() {
        let img = render(&dir, &main, &format!("image/watermark,image_{},g_{g}", b64("red.png")));
        let cells = red_per_cell(&img);
        assert_eq!(cells[i], 900, "{g}: the whole 30×30 square in cell {i}: {cells:?}");
        assert_eq!(cells.iter().sum::<usize>(), 900, "{g}: nothing elsewhere: {cells:?}");
        let opposite = 8 - i;
        if opposite != i {
            let (cw, ch) = (100, 100);
            let (ox, oy) = ((opposite % 3) as u32 * cw, (opposite / 3) as u32 * ch);
            for y in oy..oy + ch {
                for x in ox..ox + cw {
                    assert_eq!(img.get_pixel(x, y).0, GREY, "{g}: opposite cell touched at {x},{y}");
                }
            }
        }
    }
}

#[test]
fn margins_and_voffset_move_the_mark() {
    let (dir, main) = bucket("wm-margins");
    let img = render(&dir, &main, &format!("image/watermark,image_{},g_nw,x_20,y_40", b64("red.png")));
    assert!(
        is_red(img.get_pixel(20, 40).0)
            && !is_red(img.get_pixel(19, 40).0)
            && !is_red(img.get_pixel(20, 39).0)
    );
    let img = render(&dir, &main, &format!("image/watermark,image_{},g_center,voffset_50", b64("red.png")));
    // Centre square spans y 135..165; voffset_50 moves it up to 85..115.
    assert!(
        is_red(img.get_pixel(150, 85).0)
            && !is_red(img.get_pixel(150, 84).0)
            && !is_red(img.get_pixel(150, 115).0)
    );
}

#[test]
fn t50_blends_half_way() {
    let (dir, main) = bucket("wm-t50");
    let img = render(&dir, &main, &format!("image/watermark,image_{},g_nw,x_0,y_0,t_50", b64("red.png")));
    let p = img.get_pixel(15, 15).0;
    for (got, want) in p.iter().zip([192, 64, 64]) {
        assert!((*got as i32 - want).abs() <= 2, "{p:?}");
    }
    assert_eq!(img.get_pixel(100, 100).0, GREY);
}

#[test]
fn fill_tiles_the_whole_image() {
    let (dir, main) = bucket("wm-fill");
    let img = render(&dir, &main, &format!("image/watermark,image_{},fill_1", b64("red.png")));
    assert!(img.pixels().all(|p| is_red(p.0)), "no padding: every pixel covered");
    let img =
        render(&dir, &main, &format!("image/watermark,image_{},fill_1,padx_30,pady_30", b64("red.png")));
    let cells = red_per_cell(&img);
    assert!(cells.iter().all(|&c| c > 1000), "every cell has tiles: {cells:?}");
    let share = img.pixels().filter(|p| is_red(p.0)).count() as f64 / 90_000.0;
    assert!((0.2..0.3).contains(&share), "a quarter covered with 30 px gaps: {share}");
}

#[test]
fn p30_scales_to_thirty_percent_of_the_main_image() {
    let (dir, main) = bucket("wm-p30");
    let key = "big.png?x-oss-process=image/resize,P_30";
    let img = render(&dir, &main, &format!("image/watermark,image_{},g_nw,x_0,y_0", b64(key)));
    let red: Vec<(u32, u32)> =
        img.enumerate_pixels().filter(|(_, _, p)| is_red(p.0)).map(|(x, y, _)| (x, y)).collect();
    let w = red.iter().map(|p| p.0).max().unwrap() + 1;
    let h = red.iter().map(|p| p.1).max().unwrap() + 1;
    assert!((89..=90).contains(&w) && (89..=90).contains(&h), "{w}x{h}");
}

#[test]
fn chinese_text_renders_visible_glyphs() {
    let (dir, main) = bucket("wm-text");
    let img =
        render(&dir, &main, &format!("image/watermark,text_{},color_FF0000,size_40,g_nw", b64("阿里云")));
    let red: Vec<(u32, u32)> =
        img.enumerate_pixels().filter(|(_, _, p)| is_red(p.0)).map(|(x, y, _)| (x, y)).collect();
    assert!(red.len() > 300, "glyph ink: {} px", red.len());
    let (x0, x1) = (red.iter().map(|p| p.0).min().unwrap(), red.iter().map(|p| p.0).max().unwrap());
    assert!(x1 - x0 > 80, "three glyphs wide: {}", x1 - x0);
    // Ink in three separate glyph columns: count runs of inked columns.
    let mut inked = vec![false; 300];
    for &(x, _) in &red {
        inked[x as usize] = true;
    }
    let runs = inked.windows(2).filter(|w| !w[0] && w[1]).count() + inked[0] as usize;
    assert!(runs >= 3, "separate glyphs: {runs}");
    assert!(red_per_cell(&img)[8] == 0, "nothing in the far corner");
}

#[test]
fn image_and_text_together() {
    let (dir, main) = bucket("wm-both");
    let red_x = |img: &RgbImage| {
        let xs: Vec<u32> =
            img.enumerate_pixels().filter(|(_, _, p)| is_red(p.0)).map(|(x, _, _)| x).collect();
        (*xs.iter().min().unwrap(), *xs.iter().max().unwrap())
    };
    let blue = |img: &RgbImage, from: u32| {
        img.enumerate_pixels().filter(|(x, _, p)| *x >= from && p.0[2] > 180 && p.0[0] < 80).count()
    };
    let p = format!(
        "image/watermark,image_{},text_{},color_0000FF,g_nw,x_0,y_0,interval_10,align_1",
        b64("red.png"),
        b64("云")
    );
    let img = render(&dir, &main, &p);
    assert_eq!(red_x(&img), (0, 29), "image first (order_0)");
    assert!(blue(&img, 40) > 50 && blue(&img, 0) == blue(&img, 40), "text after the image and the interval");
    let p = format!(
        "image/watermark,image_{},text_{},color_0000FF,g_nw,x_0,y_0,order_1",
        b64("red.png"),
        b64("云")
    );
    let img = render(&dir, &main, &p);
    let (x0, _) = red_x(&img);
    assert!(x0 >= 30, "text first (order_1): image starts at {x0}");
    assert!(blue(&img, 0) > 50);
}

#[test]
fn missing_non_image_and_escaping_objects_are_errors() {
    let (dir, main) = bucket("wm-errors");
    let e = run_in(&dir, &main, &format!("image/watermark,image_{}", b64("nosuch.png"))).unwrap_err();
    assert_eq!((e.code, e.ec, e.status()), (Code::WatermarkError, Some("0040-00000024"), 400));
    for key in ["notes.txt", "anim.gif"] {
        let e = run_in(&dir, &main, &format!("image/watermark,image_{}", b64(key))).unwrap_err();
        assert_eq!((e.code, e.ec), (Code::WatermarkError, Some("0040-00000027")), "{key}");
    }
    std::fs::write(dir.parent().unwrap().join("imgedge-outside.png"), png(&DynamicImage::new_rgb8(5, 5)))
        .unwrap();
    for key in [
        "../imgedge-outside.png",
        "/etc/hostname",
        "http://127.0.0.2:1/x.png",
        "sub/../../imgedge-outside.png",
    ] {
        let e = run_in(&dir, &main, &format!("image/watermark,image_{}", b64(key))).unwrap_err();
        assert_eq!(e.status(), 400, "{key}: {e}");
    }
    let four = vec![format!("watermark,image_{}", b64("red.png")); 4].join("/");
    assert_eq!(run_in(&dir, &main, &format!("image/{four}")).unwrap_err().code, Code::WatermarkError);
    let three = vec![format!("watermark,image_{}", b64("red.png")); 3].join("/");
    assert!(run_in(&dir, &main, &format!("image/{three}")).is_ok());
}

#[test]
fn animated_gif_keeps_frames_under_a_watermark() {
    let (dir, _) = bucket("wm-gif");
    let gif = read("oss/example.gif");
    let out = run_in(&dir, &gif, &format!("image/watermark,image_{},g_nw", b64("red.png"))).unwrap();
    assert_eq!(out.content_type, "image/gif");
    use image::AnimationDecoder;
    let frames = image::codecs::gif::GifDecoder::new(std::io::Cursor::new(&out.body))
        .unwrap()
        .into_frames()
        .collect_frames()
        .unwrap();
    assert_eq!(frames.len(), 3);
    for f in &frames {
        let p = f.buffer().get_pixel(20, 20).0;
        assert!(p[0] > 200 && p[1] < 60, "every frame carries the mark: {p:?}");
    }
}
