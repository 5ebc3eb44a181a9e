//! Color functions: `RGB`, `ARGB`, the named colors (`Red()`, `LightGreen()`
//! …, each with an optional alpha), `Colormix1` and `Colormix2`, as Qlik's
//! help pages "Color functions" define them.
//!
//! A color is a dual: its number packs alpha, red, green and blue in one
//! byte each (light green is 4 278 255 360, hex FF00FF00, on the ARGB page),
//! its text is `RGB(r,g,b)`, or `ARGB(a,r,g,b)` when an alpha was given or
//! a mix made it (`Colormix1(0.5, red(), blue())` is `ARGB(255,64,0,64)`).

use std::sync::Arc;

use crate::load::error::{Fail, LoadErrorKind};
use crate::model::Value;
use crate::script::source::Span;

use super::ev_num;
use crate::load::expr::{CExpr, RowScope};

/// A color function.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum ColorFn {
    Rgb,
    Argb,
    Colormix1,
    Colormix2,
    Black,
    Blue,
    Brown,
    Cyan,
    DarkGray,
    Green,
    LightBlue,
    LightCyan,
    LightGray,
    LightGreen,
    LightMagenta,
    LightRed,
    Magenta,
    Red,
    White,
    Yellow,
    QlikTechBlue,
    QlikTechGray,
}

/// Alpha, red, green, blue.
type Argb = [u8; 4];

/// Evaluates a color function.
pub(super) fn call(
    f: ColorFn,
    args: &[CExpr],
    span: Span,
    cx: &RowScope<'_>,
) -> Result<Value, Fail> {
    let byte = |i: usize| -> Result<Option<u8>, Fail> {
        Ok(ev_num(args, i, cx)?
            .filter(|n| (0.0..=255.0).contains(n))
            .map(|n| n as u8))
    };
    Ok(match f {
        ColorFn::Rgb => match (byte(0)?, byte(1)?, byte(2)?) {
            (Some(r), Some(g), Some(b)) => color([255, r, g, b], false),
            _ => Value::Null,
        },
        ColorFn::Argb => match (byte(0)?, byte(1)?, byte(2)?, byte(3)?) {
            (Some(a), Some(r), Some(g), Some(b)) => color([a, r, g, b], true),
            _ => Value::Null,
        },
        ColorFn::Colormix1 | ColorFn::Colormix2 => {
            let Some(v) = ev_num(args, 0, cx)? else {
                return Ok(Value::Null);
            };
            let Some(low) = ev_num(args, 1, cx)?.and_then(unpack) else {
                return Ok(Value::Null);
            };
            let Some(high) = ev_num(args, 2, cx)?.and_then(unpack) else {
                return Ok(Value::Null);
            };
            let mixed = if f == ColorFn::Colormix1 {
                mix(low, high, v.clamp(0.0, 1.0))
            } else {
                let v = v.clamp(-1.0, 1.0);
                match args.get(3) {
                    Some(_) => {
                        let Some(zero) = ev_num(args, 3, cx)?.and_then(unpack) else {
                            return Ok(Value::Null);
                        };
                        if v < 0.0 {
                            mix(zero, low, -v)
                        } else {
                            mix(zero, high, v)
                        }
                    }
                    None => mix(low, high, (v + 1.0) / 2.0),
                }
            };
            color(mixed, true)
        }
        named => {
            let Some([r, g, b]) = named_rgb(named) else {
                return Err(Fail::new(
                    LoadErrorKind::Bug,
                    span,
                    format!("`{named:?}` is not a named color"),
                ));
            };
            if args.is_empty() {
                color([255, r, g, b], false)
            } else {
                match byte(0)? {
                    Some(a) => color([a, r, g, b], true),
                    None => Value::Null,
                }
            }
        }
    })
}

/// The red, green and blue of a named color (Qlik's help, "Color
/// functions": `blue()` is RGB(0,0,128), `lightblue()` RGB(0,0,255) …).
fn named_rgb(f: ColorFn) -> Option<[u8; 3]> {
    Some(match f {
        ColorFn::Black => [0, 0, 0],
        ColorFn::Blue => [0, 0, 128],
        ColorFn::Brown => [128, 128, 0],
        ColorFn::Cyan => [0, 128, 128],
        ColorFn::DarkGray => [128, 128, 128],
        ColorFn::Green => [0, 128, 0],
        ColorFn::LightBlue => [0, 0, 255],
        ColorFn::LightCyan => [0, 255, 255],
        ColorFn::LightGray => [192, 192, 192],
        ColorFn::LightGreen => [0, 255, 0],
        ColorFn::LightMagenta => [255, 0, 255],
        ColorFn::LightRed => [255, 0, 0],
        ColorFn::Magenta => [128, 0, 128],
        ColorFn::Red => [128, 0, 0],
        ColorFn::White => [255, 255, 255],
        ColorFn::Yellow => [255, 255, 0],
        ColorFn::QlikTechBlue => [8, 18, 90],
        ColorFn::QlikTechGray => [158, 148, 137],
        ColorFn::Rgb | ColorFn::Argb | ColorFn::Colormix1 | ColorFn::Colormix2 => return None,
    })
}

/// A color as Qlik's dual.
fn color([a, r, g, b]: Argb, with_alpha: bool) -> Value {
    let n = u32::from_be_bytes([a, r, g, b]);
    let text = if with_alpha {
        format!("ARGB({a},{r},{g},{b})")
    } else {
        format!("RGB({r},{g},{b})")
    };
    Value::Dual(f64::from(n), Arc::from(text))
}

/// A color's parts from its number; `None` for a number no color has.
fn unpack(n: f64) -> Option<Argb> {
    (n >= 0.0 && n <= f64::from(u32::MAX) && n.fract() == 0.0).then(|| (n as u32).to_be_bytes())
}

/// The color `t` of the way from `a` to `b`, each part rounded.
fn mix(a: Argb, b: Argb, t: f64) -> Argb {
    let mut out = [0u8; 4];
    for ((o, x), y) in out.iter_mut().zip(a).zip(b) {
        let v = f64::from(x) + (f64::from(y) - f64::from(x)) * t;
        *o = v.round().clamp(0.0, 255.0) as u8;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colors_pack_and_mix_as_the_help_says() {
        // Light green is 4 278 255 360 (FF00FF00).
        let Value::Dual(n, _) = color([255, 0, 255, 0], false) else {
            unreachable!("a color is a dual")
        };
        assert_eq!(n, 4_278_255_360.0);
        // Colormix1(0.5, red(), blue()) is ARGB(255,64,0,64).
        assert_eq!(
            mix([255, 128, 0, 0], [255, 0, 0, 128], 0.5),
            [255, 64, 0, 64]
        );
        assert_eq!(unpack(4_278_255_360.0), Some([255, 0, 255, 0]));
        assert_eq!(unpack(-1.0), None);
    }
}
