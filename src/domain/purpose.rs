//! What a display code is shown for. Police at the roadside see the whole licence; car-rental
//! firms, insurers and employers check only the driving qualification, so their codes carry
//! far less (no address, no licence number in clear, no points).

use serde::Deserialize;
use strum::{EnumCount, VariantArray};

super::code_enum! {
    #[derive(Default, Deserialize, clap::ValueEnum, utoipa::ToSchema, strum::EnumCount)]
    #[strum(parse_err_ty = String, parse_err_fn = unknown_purpose)]
    pub enum Purpose {
        /// Police at the roadside or at the counter: the full roadside code.
        #[default]
        Roadside,
        /// A car-rental firm checking that the renter may drive the vehicle's class.
        Rental,
        /// An insurer checking the driver's qualification.
        Insurance,
        /// An employer checking a driver's qualification.
        Employment,
    }
}

impl Purpose {
    pub const ALL: [Purpose; Purpose::COUNT] = super::variants(Self::VARIANTS);

    /// The minimal purposes: qualification only, for businesses rather than police.
    pub fn is_minimal(self) -> bool {
        self != Purpose::Roadside
    }

    /// The minimal purposes, in order: the ones a partner token can have.
    pub fn minimal() -> impl Iterator<Item = Purpose> {
        Purpose::ALL.into_iter().filter(|p| p.is_minimal())
    }
}

fn unknown_purpose(s: &str) -> String {
    format!("unknown purpose {s:?} (roadside, rental, insurance, employment)")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip_and_only_roadside_is_full() {
        for p in Purpose::ALL {
            assert_eq!(p.code().parse::<Purpose>(), Ok(p));
            assert_eq!(p.is_minimal(), p != Purpose::Roadside);
        }
        assert_eq!(
            Purpose::minimal().collect::<Vec<_>>(),
            [Purpose::Rental, Purpose::Insurance, Purpose::Employment]
        );
        assert!("police".parse::<Purpose>().is_err());
        assert!("Rental".parse::<Purpose>().is_err());
        assert_eq!(Purpose::default(), Purpose::Roadside);
    }
}
