//! The nine-cell anchor grid shared by `crop` (and later `watermark`).

use super::error::{Error, Result};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Gravity {
    Nw,
    North,
    Ne,
    West,
    Center,
    East,
    Sw,
    South,
    Se,
}

impl Gravity {
    pub fn parse(v: &str) -> Result<Gravity> {
        Ok(match v {
            "nw" => Gravity::Nw,
            "north" => Gravity::North,
            "ne" => Gravity::Ne,
            "west" => Gravity::West,
            "center" => Gravity::Center,
            "east" => Gravity::East,
            "sw" => Gravity::Sw,
            "south" => Gravity::South,
            "se" => Gravity::Se,
            _ => {
                return Err(Error::invalid(
                    None,
                    "g must be one of nw, north, ne, west, center, east, sw, south, se",
                ))
            }
        })
    }

    pub fn name(self) -> &'static str {
        match self {
            Gravity::Nw => "nw",
            Gravity::North => "north",
            Gravity::Ne => "ne",
            Gravity::West => "west",
            Gravity::Center => "center",
            Gravity::East => "east",
            Gravity::Sw => "sw",
            Gravity::South => "south",
            Gravity::Se => "se",
        }
    }

    /// Top-left corner of a `w`×`h` box anchored in a `big_w`×`big_h` area (box ≤ area).
    /// Centre positions use `W/2 − w/2` with floor division, as OSS's table states it.
    pub fn origin(self, big_w: u32, big_h: u32, w: u32, h: u32) -> (u32, u32) {
        let left = 0;
        let hcenter = (big_w / 2).saturating_sub(w / 2);
        let right = big_w.saturating_sub(w);
        let top = 0;
        let vcenter = (big_h / 2).saturating_sub(h / 2);
        let bottom = big_h.saturating_sub(h);
        match self {
            Gravity::Nw => (left, top),
            Gravity::North => (hcenter, top),
            Gravity::Ne => (right, top),
            Gravity::West => (left, vcenter),
            Gravity::Center => (hcenter, vcenter),
            Gravity::East => (right, vcenter),
            Gravity::Sw => (left, bottom),
            Gravity::South => (hcenter, bottom),
            Gravity::Se => (right, bottom),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_follow_the_oss_table() {
        assert_eq!(Gravity::Nw.origin(400, 267, 200, 200), (0, 0));
        assert_eq!(Gravity::Se.origin(400, 267, 200, 200), (200, 67));
        assert_eq!(Gravity::Center.origin(400, 267, 200, 200), (100, 33));
        assert_eq!(Gravity::South.origin(400, 267, 100, 100), (150, 167));
        assert_eq!(Gravity::East.origin(400, 267, 100, 100), (300, 83));
        for name in ["nw", "north", "ne", "west", "center", "east", "sw", "south", "se"] {
            assert_eq!(Gravity::parse(name).unwrap().name(), name);
        }
        assert!(Gravity::parse("face").is_err());
    }
}
