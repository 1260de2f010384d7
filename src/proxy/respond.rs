//! Writing answers on a pingora session: one function for every response the proxy makes
//! itself (processed images, raw objects from a directory bucket, errors), so headers such as
//! `x-oss-request-id` are set in one place.

use bytes::Bytes;
use pingora::http::ResponseHeader;
use pingora::proxy::Session;
use pingora::Result;

use crate::exchange::{sandbox_policy, Answer, Body};

/// Sends `answer`; HEAD requests get the headers only.
pub async fn send(session: &mut Session, answer: Answer, request_id: &str) -> Result<()> {
    let head = session.req_header().method == "HEAD";
    let len = match &answer.body {
        Body::Bytes(b) => b.len() as u64,
        Body::File { len, .. } => *len,
        Body::Empty => 0,
    };
    let mut resp = ResponseHeader::build(answer.status, Some(answer.headers.len() + 3))?;
    for (k, v) in &answer.headers {
        resp.insert_header(*k, v.as_str())?;
    }
    resp.insert_header("x-oss-request-id", request_id)?;
    resp.insert_header("server", "imgedge")?;
    // Browsers must not sniff an object (say, HTML uploaded as .jpg) into something runnable.
    resp.insert_header("x-content-type-options", "nosniff")?;
    let ct = answer.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case("content-type"));
    if let Some(csp) = ct.and_then(|(_, v)| sandbox_policy(v)) {
        resp.insert_header("content-security-policy", csp)?;
    }
    if answer.status != 304 {
        resp.insert_header("content-length", len.to_string())?;
    }
    session.write_response_header(Box::new(resp), head || len == 0).await?;
    if head || len == 0 {
        return Ok(());
    }
    match answer.body {
        Body::Bytes(b) => session.write_response_body(Some(b), true).await?,
        Body::File { file, start, len } => send_file(session, file, start, len).await?,
        Body::Empty => {}
    }
    Ok(())
}

async fn send_file(session: &mut Session, file: std::fs::File, start: u64, len: u64) -> Result<()> {
    use tokio::io::{AsyncReadExt, AsyncSeekExt};
    let io = |_| pingora::Error::new(pingora::ErrorType::InternalError);
    let mut f = tokio::fs::File::from_std(file);
    f.seek(std::io::SeekFrom::Start(start)).await.map_err(io)?;
    let mut left = len;
    let mut buf = vec![0u8; 64 * 1024];
    while left > 0 {
        let want = buf.len().min(left as usize);
        let n = f.read(&mut buf[..want]).await.map_err(io)?;
        if n == 0 {
            // The file shrank under us: the peer sees a short body and a closed connection.
            return Err(pingora::Error::new(pingora::ErrorType::InternalError));
        }
        left -= n as u64;
        session.write_response_body(Some(Bytes::copy_from_slice(&buf[..n])), left == 0).await?;
    }
    Ok(())
}
