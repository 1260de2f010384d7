use super::*;
use crate::testing::fixtures::{folder, read};

/// The JSON as a map of key to value, checking the `{"value":"..."}` shape on the way.
fn parse(json: &str) -> BTreeMap<String, String> {
    let v: serde_json::Value = serde_json::from_str(json).unwrap_or_else(|e| panic!("{e}: {json}"));
    let obj = v.as_object().expect("an object");
    obj.iter()
        .map(|(k, v)| {
            let o = v.as_object().filter(|o| o.len() == 1).expect("{\"value\":..}");
            (k.clone(), o["value"].as_str().expect("a string").to_string())
        })
        .collect()
}

/// `{"K":{"value":"V"},...}` from pairs already in key order.
fn expected(pairs: &[(&str, &str)]) -> String {
    let body: Vec<String> = pairs.iter().map(|(k, v)| format!("\"{k}\":{{\"value\":\"{v}\"}}")).collect();
    format!("{{{}}}", body.join(","))
}

#[test]
fn example_jpg_is_spec_vector_17() {
    let json = info_json(&read("oss/example.jpg"), Format::Jpeg, 400, 267, 1);
    assert_eq!(
        json,
        r#"{"FileSize":{"value":"21839"},"Format":{"value":"jpg"},"FrameCount":{"value":"1"},"ImageHeight":{"value":"267"},"ImageWidth":{"value":"400"},"ResolutionUnit":{"value":"1"},"XResolution":{"value":"1/1"},"YResolution":{"value":"1/1"}}"#
    );
}

#[test]
fn f_jpg_matches_the_documented_exif() {
    let json = info_json(&read("oss/f.jpg"), Format::Jpeg, 424, 333, 1);
    let want = expected(&[
        ("Compression", "6"),
        ("DateTime", "2015:02:11 15:38:27"),
        ("ExifTag", "2212"),
        ("FileSize", "23471"),
        ("Format", "jpg"),
        ("FrameCount", "1"),
        ("GPSLatitude", "0deg "),
        ("GPSLatitudeRef", "North"),
        ("GPSLongitude", "0deg "),
        ("GPSLongitudeRef", "East"),
        ("GPSMapDatum", "WGS-84"),
        ("GPSTag", "4292"),
        ("GPSVersionID", "2 2 0 0"),
        ("ImageHeight", "333"),
        ("ImageWidth", "424"),
        ("JPEGInterchangeFormat", "4518"),
        ("JPEGInterchangeFormatLength", "3232"),
        ("Orientation", "7"),
        ("ResolutionUnit", "2"),
        ("Software", "Microsoft Windows Photo Viewer 6.1.7600.16385"),
        ("XResolution", "96/1"),
        ("YResolution", "96/1"),
    ]);
    assert_eq!(json, want);
}

#[test]
fn png_and_gif_give_the_basics() {
    let json = info_json(&read("oss/aws_logo.png"), Format::Png, 167, 112, 1);
    let want = [("FileSize", "30745"), ("Format", "png"), ("FrameCount", "1")];
    let want = [&want[..], &[("ImageHeight", "112"), ("ImageWidth", "167")]].concat();
    assert_eq!(json, expected(&want));

    let gif = read("formats/animated-loop-3.gif");
    let fields = parse(&info_json(&gif, Format::Gif, 10, 20, 3));
    assert_eq!(fields["FrameCount"], "3");
    assert_eq!(fields["Format"], "gif");
    assert_eq!(fields["FileSize"], gif.len().to_string());
    assert_eq!(fields.len(), 5, "{fields:?}");
}

/// kamadak-exif's reading of a primary-image field, formatted like ours.
fn kamadak(value: &exif::Value) -> Option<String> {
    let join = |v: Vec<String>| Some(v.join(" "));
    match value {
        exif::Value::Ascii(v) => Some(text(v.first()?)),
        exif::Value::Short(v) => join(v.iter().map(u16::to_string).collect()),
        exif::Value::Long(v) => join(v.iter().map(u32::to_string).collect()),
        exif::Value::Rational(v) => join(v.iter().map(|r| format!("{}/{}", r.num, r.denom)).collect()),
        _ => None,
    }
}

#[test]
fn corpus_photos_agree_with_kamadak_exif() {
    let checked = [
        (exif::Tag::Orientation, "Orientation"),
        (exif::Tag::Make, "Make"),
        (exif::Tag::Model, "Model"),
        (exif::Tag::DateTimeOriginal, "DateTimeOriginal"),
        (exif::Tag::ExposureTime, "ExposureTime"),
        (exif::Tag::FNumber, "FNumber"),
        (exif::Tag::PhotographicSensitivity, "ISOSpeedRatings"),
        (exif::Tag::FocalLength, "FocalLength"),
        (exif::Tag::GPSAltitude, "GPSAltitude"),
    ];
    let (mut files, mut compared) = (0, 0);
    for dir in ["orient", "photos"] {
        for (file, bytes) in folder(dir) {
            let reader = image::ImageReader::new(std::io::Cursor::new(&bytes)).with_guessed_format().unwrap();
            let (w, h) = reader.into_dimensions().unwrap();
            let fields = parse(&info_json(&bytes, Format::Jpeg, w, h, 1));
            assert_eq!(fields["ImageWidth"], w.to_string());
            assert_eq!(fields["FileSize"], bytes.len().to_string());
            let theirs = exif::Reader::new().read_from_container(&mut std::io::Cursor::new(&bytes));
            for (tag, name) in checked {
                let want = theirs.as_ref().ok().and_then(|e| e.get_field(tag, exif::In::PRIMARY));
                let want = want.and_then(|f| kamadak(&f.value));
                compared += usize::from(want.is_some());
                assert_eq!(fields.get(name), want.as_ref(), "{name} in {dir}/{file}");
            }
            files += 1;
        }
    }
    assert!(files >= 20 && compared >= 30, "{files} files, {compared} values compared");
    let six = info_json(&read("orient/Landscape_6.jpg"), Format::Jpeg, 450, 600, 1);
    assert_eq!(parse(&six)["Orientation"], "6");
}

#[test]
fn phone_photo_shows_gps_and_maker_note_as_oss_does() {
    let fields = parse(&info_json(&read("photos/phone12mp.jpg"), Format::Jpeg, 4032, 3024, 1));
    assert_eq!(fields["GPSLatitude"], "59deg 18' 22.350\" ");
    assert_eq!(fields["GPSLongitudeRef"], "East");
    assert_eq!(fields["GPSTimeStamp"], "7/1 43/1 41/1");
    assert_eq!(fields["ExifVersion"], "48 50 50 48");
    assert_eq!(fields["MakerNote"], "18262 bytes undefined data");
    assert_eq!(fields["InteroperabilityIndex"], "R98");
    assert_eq!(fields["Make"], "Huawei");
}

/// A little TIFF writer: IFD0 with `ifd0`, plus Exif and GPS IFDs linked from it when given.
type E = (u16, u16, Vec<u8>); // tag, type, value bytes in the block's order

fn tiff(le: bool, ifd0: Vec<E>, exif: Vec<E>, gps: Vec<E>) -> Vec<u8> {
    let size =
        |n: usize, es: &[E]| 6 + 12 * n + es.iter().map(|e| e.2.len()).filter(|&l| l > 4).sum::<usize>();
    let ptrs = usize::from(!exif.is_empty()) + usize::from(!gps.is_empty());
    let exif_at = 8 + size(ifd0.len() + ptrs, &ifd0);
    let gps_at = exif_at + if exif.is_empty() { 0 } else { size(exif.len(), &exif) };
    let u32b = |v: u32| if le { v.to_le_bytes() } else { v.to_be_bytes() };
    let mut ifd0 = ifd0;
    if !exif.is_empty() {
        ifd0.push((0x8769, 4, u32b(exif_at as u32).to_vec()));
    }
    if !gps.is_empty() {
        ifd0.push((0x8825, 4, u32b(gps_at as u32).to_vec()));
    }
    let mut out = if le { b"II\x2a\0".to_vec() } else { b"MM\0\x2a".to_vec() };
    out.extend(u32b(8));
    for es in [ifd0, exif, gps].iter().filter(|es| !es.is_empty()) {
        let mut data_at = out.len() + 6 + 12 * es.len();
        let mut data: Vec<u8> = Vec::new();
        out.extend(&u32b(es.len() as u32)[if le { 0..2 } else { 2..4 }]);
        for (tag, typ, v) in es {
            let n = v.len() / unit(*typ).unwrap();
            out.extend(&u32b(u32::from(*tag))[if le { 0..2 } else { 2..4 }]);
            out.extend(&u32b(u32::from(*typ))[if le { 0..2 } else { 2..4 }]);
            out.extend(u32b(n as u32));
            if v.len() <= 4 {
                out.extend(v.iter().chain(&[0; 4]).take(4));
            } else {
                out.extend(u32b(data_at as u32));
                data.extend(v);
                data_at += v.len();
            }
        }
        out.extend(u32b(0));
        out.extend(data);
    }
    out
}

fn rationals(le: bool, v: &[(u32, u32)]) -> Vec<u8> {
    let b = |x: u32| if le { x.to_le_bytes() } else { x.to_be_bytes() };
    v.iter().flat_map(|&(n, d)| b(n).into_iter().chain(b(d))).collect()
}

#[test]
fn synthetic_exif_in_both_byte_orders_and_in_webp() {
    for le in [true, false] {
        let short = |v: u16| {
            if le {
                v.to_le_bytes().to_vec()
            } else {
                v.to_be_bytes().to_vec()
            }
        };
        let mut comment = b"UNICODE\0".to_vec();
        comment.extend("Hé".encode_utf16().flat_map(|u| if le { u.to_le_bytes() } else { u.to_be_bytes() }));
        let block = tiff(
            le,
            vec![
                (0x112, 3, short(8)),
                (0x13c, 2, b"iPhone 13\0".to_vec()),
                (0xea1c, 7, vec![0; 8]),
                (0x111, 4, vec![0; 4 * 5000]),
            ],
            vec![
                (0x9000, 7, b"0232".to_vec()),
                (0x927c, 7, vec![7; 3681]),
                (0x9286, 7, comment),
                (0x9204, 10, rationals(le, &[(u32::MAX, 1)])),
                (0xa001, 3, short(65535)),
            ],
            vec![
                (1, 2, b"S\0".to_vec()),
                (2, 5, rationals(le, &[(30, 1), (27, 1), (3512, 100)])),
                (3, 2, b"X\0".to_vec()),
                (4, 5, rationals(le, &[(104, 1), (0, 1), (178, 100)])),
                (7, 5, rationals(le, &[(7, 1), (55, 1), (5824, 100)])),
                (0x14, 5, rationals(le, &[(1, 0), (2, 1), (3, 1)])),
            ],
        );
        let mut webp = b"RIFF\0\0\0\0WEBPVP8X\x0a\0\0\0\0\0\0\0\0\0\0\0\0\0EXIF".to_vec();
        webp.extend((block.len() as u32 + 6).to_le_bytes());
        webp.extend(b"Exif\0\0");
        webp.extend(&block);
        for (bytes, format) in [(&block, Format::Tiff), (&webp, Format::Webp)] {
            let f = parse(&info_json(bytes, format, 1, 2, 1));
            assert_eq!(f["Orientation"], "8");
            assert_eq!(f["HostComputer"], "iPhone 13");
            assert_eq!(f["ExifVersion"], "48 50 51 50");
            assert_eq!(f["MakerNote"], "3681 bytes undefined data");
            assert_eq!(f["UserComment"], "charset=\"Unicode\" Hé");
            assert_eq!(f["ExposureBiasValue"], "-1/1");
            assert_eq!(f["ColorSpace"], "65535");
            assert_eq!(f["GPSLatitudeRef"], "South");
            assert_eq!(f["GPSLatitude"], "30deg 27' 35.120\" ");
            assert_eq!(f["GPSLongitudeRef"], "(X)");
            assert_eq!(f["GPSLongitude"], "104deg 0' 1.780\" ");
            assert_eq!(f["GPSTimeStamp"], "7/1 55/1 5824/100");
            assert_eq!(f["GPSDestLatitude"], "1/0 2/1 3/1", "GPSDest* stay raw");
            assert!(f.contains_key("ExifTag") && f.contains_key("GPSTag"));
            assert_eq!(f.len(), 5 + 15, "{f:?}");
        }
    }
}

#[test]
fn degrees_follow_exiv2_0_27() {
    let t = Tiff { d: &[], le: true };
    let deg = |v: &[(u32, u32)]| {
        let data = rationals(true, v);
        t.degrees(&Entry { tag: 2, typ: RATIONAL, count: 3, data: &data })
    };
    assert_eq!(deg(&[(0, 1), (0, 1000), (0, 1)]), "0deg ");
    assert_eq!(deg(&[(31, 1), (55, 1), (387, 100)]), "31deg 55' 3.870\" ");
    assert_eq!(deg(&[(10, 1), (30, 1), (0, 1)]), "10deg 30' ");
    assert_eq!(deg(&[(1, 2), (0, 1), (0, 1)]), "0.5000000deg ");
    assert_eq!(deg(&[(10, 1), (0, 0), (5, 1)]), "10deg (10/1 0/0 5/1)");
}

#[test]
fn name_tables_parse() {
    for table in [IFD_NAMES, EXIF_NAMES, GPS_NAMES, IOP_NAMES] {
        for e in table.split_ascii_whitespace() {
            let (hex, name) = e.split_once(':').unwrap();
            assert!(u16::from_str_radix(hex, 16).is_ok() && !name.is_empty(), "{e}");
        }
    }
    assert_eq!(tag_name(Ifd::Exif, 0x8827), Some("ISOSpeedRatings"));
    assert_eq!(tag_name(Ifd::Thumb, 0x201), Some("JPEGInterchangeFormat"));
    assert_eq!(tag_name(Ifd::Primary, 0xea1c), None);
}

/// Damaged inputs: every result is well-formed JSON with the basics, and nothing panics.
#[test]
fn truncated_and_bit_flipped_inputs_never_panic() {
    let f = read("oss/f.jpg");
    let check = |b: &[u8], format: Format| {
        let fields = parse(&info_json(b, format, 424, 333, 1));
        assert_eq!(fields["FileSize"], b.len().to_string());
    };
    // Every cut inside the metadata (APP1 ends at 7780), then coarser.
    for len in (0..8000).chain((8000..f.len()).step_by(97)) {
        check(&f[..len], Format::Jpeg);
    }
    let exif = scan_jpeg(&f).1.unwrap();
    for len in 0..exif.len() {
        check(&exif[..len], Format::Tiff);
    }
    let mut rng = crate::testing::XorShift(0x9E37_79B9_7F4A_7C15);
    let mut next = move || rng.next();
    for round in 0..4000 {
        let mut b = f.clone();
        for _ in 0..1 + round % 8 {
            let at = (next() % 7800) as usize;
            b[at] ^= 1 << (next() % 8);
        }
        check(&b, Format::Jpeg);
        check(&b[30..], Format::Tiff);
    }
    // A richer block (Exif, GPS, Interop, MakerNote, IFD1), flipped as a bare TIFF.
    let phone = read("photos/phone12mp.jpg");
    let block = scan_jpeg(&phone).1.unwrap().to_vec();
    for round in 0..3000 {
        let mut b = block.clone();
        for _ in 0..1 + round % 8 {
            let at = (next() % b.len() as u64) as usize;
            b[at] ^= 1 << (next() % 8);
        }
        check(&b, Format::Tiff);
    }
    for junk in [&b""[..], b"\xff\xd8", b"\xff\xd8\xff\xe1\x00\x01", b"RIFF\xff\xff\xff\xffWEBPEXIF"] {
        check(junk, Format::Jpeg);
        check(junk, Format::Webp);
        check(junk, Format::Tiff);
    }
}

/// Thousands of entries sharing one 4000-item value: the item budget keeps this cheap.
#[test]
fn crafted_ifd_stays_bounded() {
    let n = 3000_u16;
    let data_at = 8 + 2 + 12 * u32::from(n) + 4;
    let mut b = b"II\x2a\0\x08\0\0\0".to_vec();
    b.extend(n.to_le_bytes());
    for _ in 0..n {
        b.extend([0x11, 0x01, 4, 0]); // StripOffsets, LONG
        b.extend(4000_u32.to_le_bytes());
        b.extend(data_at.to_le_bytes());
    }
    b.extend([0; 4]);
    b.extend(vec![0; 16_000]);
    let start = std::time::Instant::now();
    let fields = parse(&info_json(&b, Format::Tiff, 1, 1, 1));
    assert!(start.elapsed() < std::time::Duration::from_secs(2));
    assert_eq!(fields["StripOffsets"].len(), 4000 * 2 - 1);
}
