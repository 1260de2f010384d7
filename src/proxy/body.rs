//! Request bodies of the write path and the bucket APIs: bounded before they are read (a
//! declared length past the limit is refused at once, a chunked body as soon as it passes it),
//! read within a deadline, and held to what was signed (V4's `x-oss-content-sha256`, and
//! `Content-MD5`, which V1 signs).

use std::time::Duration;

use bytes::{Bytes, BytesMut};
use pingora::proxy::Session;

use crate::access::Auth;
use crate::error::OssError;
use crate::exchange::Req;

fn too_large(max: u64) -> OssError {
    OssError::invalid("EntityTooLarge", None, format!("The request body is larger than {max} bytes."))
}

/// Reads the body: at most `max` bytes, all of it within `deadline` (a trickling client holds
/// a connection and a task, never a worker).
pub async fn read(
    session: &mut Session,
    req: &Req,
    auth: &Auth,
    max: u64,
    deadline: Duration,
) -> Result<Bytes, OssError> {
    if let Some(len) = req.header("content-length") {
        let len: u64 = len
            .trim()
            .parse()
            .map_err(|_| OssError::invalid("InvalidArgument", None, "bad Content-Length"))?;
        if len > max {
            // Not worth keeping: dropped after the answer ([`linger`]), and the connection closed.
            session.set_keepalive(None);
            return Err(too_large(max));
        }
    }
    let read =
        async {
            let mut body = BytesMut::new();
            while let Some(chunk) = session.read_request_body().await.map_err(|_| {
                OssError::invalid("IncompleteBody", None, "The request body could not be read.")
            })? {
                if body.len() as u64 + chunk.len() as u64 > max {
                    session.set_keepalive(None);
                    return Err(too_large(max));
                }
                body.extend_from_slice(&chunk);
            }
            Ok(body.freeze())
        };
    let body = tokio::time::timeout(deadline, read).await.unwrap_or_else(|_| {
        session.set_keepalive(None);
        Err(OssError::invalid("RequestTimeout", None, "The request body did not arrive in time."))
    })?;
    check_signed_digests(req, auth, &body)?;
    Ok(body)
}

/// After an answer sent before the request's body was read to its end (refused as too large,
/// or not wanted): reads and drops what the client still sends, for at most `within`, then the
/// connection closes. Closing with unread data would reset the connection, and a client still
/// sending would lose the answer to a broken pipe (nginx's lingering close does the same).
pub async fn linger(session: &mut Session, within: Duration) {
    if session.is_body_done() {
        return;
    }
    session.set_keepalive(None);
    let _ = tokio::time::timeout(within, session.drain_request_body()).await;
}

/// The body must be the one the signature vouches for.
fn check_signed_digests(req: &Req, auth: &Auth, body: &[u8]) -> Result<(), OssError> {
    if let Auth::Signed { payload_sha256: Some(want), .. } = auth {
        use sha2::{Digest, Sha256};
        if Sha256::digest(body).as_slice() != want {
            return Err(OssError::invalid(
                "InvalidDigest",
                None,
                "The body does not match x-oss-content-sha256.",
            ));
        }
    }
    if let Some(md5) = req.header("content-md5") {
        use base64::Engine;
        use md5::{Digest, Md5};
        let got = base64::engine::general_purpose::STANDARD.encode(Md5::digest(body));
        if got != md5.trim() {
            return Err(OssError::invalid("InvalidDigest", None, "The body does not match Content-MD5."));
        }
    }
    Ok(())
}
