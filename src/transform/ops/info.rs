//! TEMP stub
use crate::transform::format::Format;
pub fn info_json(bytes: &[u8], format: Format, width: u32, height: u32, frames: u32) -> String {
    format!("{{\"FileSize\":{{\"value\":\"{}\"}},\"Format\":{{\"value\":\"{}\"}},\"FrameCount\":{{\"value\":\"{frames}\"}},\"ImageHeight\":{{\"value\":\"{height}\"}},\"ImageWidth\":{{\"value\":\"{width}\"}}}}", bytes.len(), format.name())
}
