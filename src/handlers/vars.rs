//! OSS's variables in `sys/saveas` targets (spec §5): `{bucket}`, `{key}`, `{dirname}`,
//! `{barename}`, `{basename}`, `{ext}`, the source's upload time `{year}` `{mon}` `{day}`
//! `{hour}` `{min}` `{sec}`, the task's time `{t_year}` … `{t_sec}`, and `{autoext}`, the output
//! format's extension; `{{` and `}}` are literal braces. Times are UTC, zero-padded.
//!
//! Choices where OSS is silent (docs/decisions.md): `{basename}` is the file name with its
//! extension (`{barename}` is the one without); `{dirname}` has no trailing `/`, and when it is
//! empty a `/` right after it is dropped, so OSS's usual `{dirname}/{barename}_100.{autoext}`
//! works for top-level keys too; `{index}` (multi-output tasks) is refused for images.

use std::time::{SystemTime, UNIX_EPOCH};

pub struct Context<'a> {
    pub bucket: &'a str,
    pub key: &'a str,
    /// The source object's Last-Modified.
    pub source_time: SystemTime,
    pub task_time: SystemTime,
    /// `jpg`, `png`, `webp`, … of the output.
    pub autoext: &'a str,
}

/// `template` with every variable replaced; the error names what is wrong.
pub fn expand(template: &str, c: &Context<'_>) -> Result<String, String> {
    let (dirname, basename) = c.key.rsplit_once('/').unwrap_or(("", c.key));
    let (barename, ext) = match basename.rsplit_once('.') {
        Some((b, e)) if !b.is_empty() => (b, e),
        _ => (basename, ""),
    };
    let mut out = String::with_capacity(template.len() + 32);
    let mut rest = template;
    while let Some(i) = rest.find(['{', '}']) {
        out.push_str(&rest[..i]);
        let tail = &rest[i..];
        if let Some(t) = tail.strip_prefix("{{") {
            out.push('{');
            rest = t;
            continue;
        }
        if let Some(t) = tail.strip_prefix("}}") {
            out.push('}');
            rest = t;
            continue;
        }
        if tail.starts_with('}') {
            return Err("an unmatched } (write }} for a literal brace)".into());
        }
        let end = tail.find('}').ok_or("an unclosed { (write {{ for a literal brace)")?;
        let name = &tail[1..end];
        rest = &tail[end + 1..];
        let time = |t: SystemTime, part: usize| civil(t)[part].clone();
        let value = match name {
            "bucket" => c.bucket.to_string(),
            "key" => c.key.to_string(),
            "dirname" => {
                if dirname.is_empty() {
                    rest = rest.strip_prefix('/').unwrap_or(rest);
                }
                dirname.to_string()
            }
            "basename" => basename.to_string(),
            "barename" => barename.to_string(),
            "ext" => ext.to_string(),
            "autoext" => c.autoext.to_string(),
            "year" | "mon" | "day" | "hour" | "min" | "sec" => time(c.source_time, part(name)),
            n if n.starts_with("t_") && PARTS.contains(&&n[2..]) => time(c.task_time, part(&n[2..])),
            "index" => return Err("{index} applies to multi-output tasks, not images".into()),
            other => return Err(format!("unknown variable {{{other}}}")),
        };
        out.push_str(&value);
    }
    out.push_str(rest);
    Ok(out)
}

const PARTS: [&str; 6] = ["year", "mon", "day", "hour", "min", "sec"];

fn part(name: &str) -> usize {
    PARTS.iter().position(|p| *p == name).unwrap_or(0)
}

/// Year, month, day, hour, minute, second of `t` in UTC, zero-padded.
fn civil(t: SystemTime) -> [String; 6] {
    let secs = t.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs()) as i64;
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    // Days since 1970-01-01 to a proleptic Gregorian date (H. Hinnant's civil_from_days).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let mon = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(mon <= 2);
    [
        format!("{year:04}"),
        format!("{mon:02}"),
        format!("{day:02}"),
        format!("{:02}", rem / 3600),
        format!("{:02}", rem % 3600 / 60),
        format!("{:02}", rem % 60),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn ctx(key: &str) -> Context<'_> {
        Context {
            bucket: "demo",
            key,
            // 2024-02-29 23:59:58 UTC and 2026-12-01 00:00:05 UTC.
            source_time: UNIX_EPOCH + Duration::from_secs(1_709_251_198),
            task_time: UNIX_EPOCH + Duration::from_secs(1_796_083_205),
            autoext: "webp",
        }
    }

    #[test]
    fn every_variable() {
        let c = ctx("photos/2024/cat.tar.jpg");
        let e = |t: &str| expand(t, &c).unwrap();
        assert_eq!(e("{dirname}/{barename}_100.{autoext}"), "photos/2024/cat.tar_100.webp");
        assert_eq!(e("{bucket}|{key}|{basename}|{ext}"), "demo|photos/2024/cat.tar.jpg|cat.tar.jpg|jpg");
        assert_eq!(e("{year}-{mon}-{day}T{hour}:{min}:{sec}"), "2024-02-29T23:59:58");
        assert_eq!(e("{t_year}/{t_mon}/{t_day}/{t_hour}{t_min}{t_sec}"), "2026/12/01/000005");
        assert_eq!(e("{{literal}} }}"), "{literal} }");
        assert_eq!(e("plain.jpg"), "plain.jpg");
    }

    #[test]
    fn top_level_keys_and_odd_names() {
        assert_eq!(expand("{dirname}/{barename}_s.{ext}", &ctx("cat.jpg")).unwrap(), "cat_s.jpg");
        assert_eq!(expand("{barename}|{ext}", &ctx("dir/.hidden")).unwrap(), ".hidden|");
        assert_eq!(expand("{barename}|{ext}", &ctx("noext")).unwrap(), "noext|");
        for bad in ["{nope}", "{index}.jpg", "{unclosed", "a}b", "{t_week}"] {
            assert!(expand(bad, &ctx("a.jpg")).is_err(), "{bad}");
        }
    }

    #[test]
    fn civil_dates() {
        assert_eq!(civil(UNIX_EPOCH), ["1970", "01", "01", "00", "00", "00"].map(String::from));
        let y2k = UNIX_EPOCH + Duration::from_secs(951_782_400); // 2000-02-29
        assert_eq!(civil(y2k)[..3], ["2000", "02", "29"].map(String::from));
    }
}
