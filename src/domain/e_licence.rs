//! An issued e-licence's closed sets. At most one e-licence per licence is current; a
//! superseded one stays on file, and its codes verify as `superseded`.

super::code_enum! {
    #[derive(utoipa::ToSchema)]
    pub enum ELicenceState {
        /// The licence's e-licence now: its codes may verify.
        Current,
        /// Ended by a registry event (renewal, new classes, new authority): kept, never valid.
        Superseded,
    }
}

super::code_enum! {
    /// Where an e-licence was issued.
    #[derive(utoipa::ToSchema)]
    pub enum IssuedVia {
        /// In the app: the photo on file, or an upload a reviewer approved.
        App,
        /// At the counter (车辆管理所), by a clerk.
        Counter,
    }
}

super::code_enum! {
    /// Where an e-licence's photo came from.
    #[derive(utoipa::ToSchema)]
    pub enum ELicencePhotoSource {
        /// The registry's photo on file (已留存照片).
        OnFile,
        /// Taken with the phone, then approved by a reviewer.
        Camera,
        /// Chosen from the phone's album, then approved by a reviewer.
        Album,
        /// Taken at the counter by a clerk.
        Counter,
    }
}

impl From<super::submission::PhotoSource> for ELicencePhotoSource {
    /// An approved upload's photo keeps where the holder took it from.
    fn from(source: super::submission::PhotoSource) -> Self {
        match source {
            super::submission::PhotoSource::Camera => ELicencePhotoSource::Camera,
            super::submission::PhotoSource::Album => ELicencePhotoSource::Album,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::code_enum_tests::assert_codes;
    use strum::VariantArray;

    #[test]
    fn codes_are_the_stored_and_wire_ones() {
        assert_codes(ELicenceState::VARIANTS, &["current", "superseded"]);
        assert_codes(IssuedVia::VARIANTS, &["app", "counter"]);
        assert_codes(
            ELicencePhotoSource::VARIANTS,
            &["on_file", "camera", "album", "counter"],
        );
        assert!("Current".parse::<ELicenceState>().is_err());
    }
}
