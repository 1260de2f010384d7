//! The nine-cell anchor grid shared by `crop` and `watermark`.

use super::error::{Error, Result};

/// A position along one axis.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Anchor {
    Start,
    Middle,
    End,
}

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

    /// Where the anchor sits on the horizontal and the vertical axis.
    pub fn axes(self) -> (Anchor, Anchor) {
        use Anchor::*;
        match self {
            Gravity::Nw => (Start, Start),
            Gravity::North => (Middle, Start),
            Gravity::Ne => (End, Start),
            Gravity::West => (Start, Middle),
            Gravity::Center => (Middle, Middle),
            Gravity::East => (End, Middle),
            Gravity::Sw => (Start, End),
            Gravity::South => (Middle, End),
            Gravity::Se => (End, End),
        }
    }

    /// Top-left corner of a `w`×`h` box anchored in a `big_w`×`big_h` area (box ≤ area).
    /// Centre positions use `W/2 − w/2` with floor division, as OSS's table states it.
    pub fn origin(self, big_w: u32, big_h: u32, w: u32, h: u32) -> (u32, u32) {
        let at = |a: Anchor, big: u32, len: u32| match a {
            Anchor::Start => 0,
            Anchor::Middle => (big / 2).saturating_sub(len / 2),
            Anchor::End => big.saturating_sub(len),
        };
        let (ax, ay) = self.axes();
        (at(ax, big_w, w), at(ay, big_h, h))
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
