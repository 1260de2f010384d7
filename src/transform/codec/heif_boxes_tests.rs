use super::*;
use crate::testing::fixtures::HeifGrid;
use crate::testing::XorShift;
use crate::transform::format::Format;

fn avif(w: u32, h: u32) -> Vec<u8> {
    let img = image::DynamicImage::ImageRgb8(image::RgbImage::from_pixel(w, h, image::Rgb([90, 120, 200])));
    crate::transform::codec::heif::encode(&img, Format::Avif, 50, None).unwrap()
}

#[test]
fn a_plain_avif_is_one_av1_item_with_its_size() {
    let p = primary(&avif(96, 64)).unwrap();
    assert_eq!(&p.item_type, b"av01");
    assert_eq!(p.ispe, Some((96, 64)));
    assert_eq!(p.grid, None);
}

#[test]
fn a_grid_reports_its_real_output_and_tiles_whatever_ispe_claims() {
    let tile = avif(64, 64);
    let g = HeifGrid { rows: 3, columns: 4, out: (8192, 8192), grid_ispe: (64, 64), tile_ispe: (64, 64) };
    let p = primary(&g.build(&tile)).unwrap();
    assert_eq!(&p.item_type, b"grid");
    assert_eq!(p.ispe, Some((64, 64)));
    let grid = p.grid.unwrap();
    assert_eq!((grid.rows, grid.columns, grid.width, grid.height, grid.tiles), (3, 4, 8192, 8192, 12));
    assert_eq!(grid.tile, Some((64, 64)));
    assert!(!grid.well_formed(), "4 tiles of 64 px cannot cover 8192");
    // The honest version of the same file.
    let g = HeifGrid { out: (256, 192), grid_ispe: (256, 192), ..g };
    assert!(primary(&g.build(&tile)).unwrap().grid.unwrap().well_formed());
    // A last column that lies wholly outside the output is not well formed either.
    let g = HeifGrid { out: (190, 192), grid_ispe: (190, 192), ..g };
    assert!(!primary(&g.build(&tile)).unwrap().grid.unwrap().well_formed());
}

#[test]
fn damaged_boxes_are_faults_never_panics() {
    let g = HeifGrid { rows: 2, columns: 2, out: (128, 128), grid_ispe: (128, 128), tile_ispe: (64, 64) };
    let file = g.build(&avif(64, 64));
    for n in 0..file.len() {
        let _ = primary(&file[..n]);
    }
    let mut rng = XorShift(0x9e37_79b9_7f4a_7c15);
    for _ in 0..5000 {
        let mut f = file.clone();
        for _ in 0..1 + rng.next() % 4 {
            let i = (rng.next() % f.len() as u64) as usize;
            f[i] = rng.next() as u8;
        }
        let _ = primary(&f);
    }
    assert!(primary(b"").is_err());
    assert!(primary(b"\0\0\0\x08meta").is_err());
}
