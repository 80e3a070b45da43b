//! Closed sets of codes kept in `Text` columns: each enum is bound as its code and read back
//! from it, on both backends. The enums stay in `domain` without diesel; this file gives each
//! the diesel traits in one line ([`text_enum!`]). The stored form is the code the enum's
//! strum derives spell (`current`, `pending_review`, …), byte for byte what was stored as
//! plain strings before. A stored code no enum variant has is a corrupt row
//! ([`StorageError::Corrupt`](super::StorageError::Corrupt), through diesel's deserialization
//! error), never a panic.

/// Makes `$ty` a value of `Text` (and `Nullable<Text>`) columns: `AsExpression` for binding
/// it in queries, `ToSql`, `FromSql` and `Queryable` for reading it into rows. `$ty` needs
/// `Into<&'static str>` (its code) and `FromStr` (strum's `IntoStaticStr` and `EnumString`).
macro_rules! text_enum {
    ($ty:ty) => {
        impl diesel::expression::AsExpression<diesel::sql_types::Text> for $ty {
            type Expression = <&'static str as diesel::expression::AsExpression<
                diesel::sql_types::Text,
            >>::Expression;

            fn as_expression(self) -> Self::Expression {
                diesel::expression::AsExpression::<diesel::sql_types::Text>::as_expression(
                    <&'static str>::from(self),
                )
            }
        }

        impl diesel::expression::AsExpression<diesel::sql_types::Text> for &$ty {
            type Expression =
                <$ty as diesel::expression::AsExpression<diesel::sql_types::Text>>::Expression;

            fn as_expression(self) -> Self::Expression {
                diesel::expression::AsExpression::<diesel::sql_types::Text>::as_expression(*self)
            }
        }

        impl diesel::expression::AsExpression<diesel::sql_types::Nullable<diesel::sql_types::Text>>
            for $ty
        {
            type Expression = <&'static str as diesel::expression::AsExpression<
                diesel::sql_types::Nullable<diesel::sql_types::Text>,
            >>::Expression;

            fn as_expression(self) -> Self::Expression {
                diesel::expression::AsExpression::<
                    diesel::sql_types::Nullable<diesel::sql_types::Text>,
                >::as_expression(<&'static str>::from(self))
            }
        }

        impl<DB> diesel::serialize::ToSql<diesel::sql_types::Text, DB> for $ty
        where
            DB: diesel::backend::Backend,
            str: diesel::serialize::ToSql<diesel::sql_types::Text, DB>,
        {
            fn to_sql<'b>(
                &'b self,
                out: &mut diesel::serialize::Output<'b, '_, DB>,
            ) -> diesel::serialize::Result {
                <str as diesel::serialize::ToSql<diesel::sql_types::Text, DB>>::to_sql(
                    <&'static str>::from(*self),
                    out,
                )
            }
        }

        impl<DB> diesel::deserialize::FromSql<diesel::sql_types::Text, DB> for $ty
        where
            DB: diesel::backend::Backend,
            String: diesel::deserialize::FromSql<diesel::sql_types::Text, DB>,
        {
            fn from_sql(bytes: DB::RawValue<'_>) -> diesel::deserialize::Result<Self> {
                type Text = diesel::sql_types::Text;
                let code = <String as diesel::deserialize::FromSql<Text, DB>>::from_sql(bytes)?;
                code.parse()
                    .map_err(|_| format!("{:?} is not a {}", code, stringify!($ty)).into())
            }
        }

        impl<DB> diesel::deserialize::Queryable<diesel::sql_types::Text, DB> for $ty
        where
            DB: diesel::backend::Backend,
            Self: diesel::deserialize::FromSql<diesel::sql_types::Text, DB>,
        {
            type Row = Self;

            fn build(row: Self) -> diesel::deserialize::Result<Self> {
                Ok(row)
            }
        }
    };
}

text_enum!(crate::domain::e_licence::ELicenceState);
text_enum!(crate::domain::e_licence::IssuedVia);
text_enum!(crate::domain::e_licence::ELicencePhotoSource);
text_enum!(crate::domain::registry_event::SupersedeReason);
text_enum!(crate::domain::submission::SubmissionPurpose);
text_enum!(crate::domain::submission::PhotoSource);
text_enum!(crate::domain::submission::SubmissionState);
text_enum!(crate::domain::submission::ReviewAction);
text_enum!(crate::domain::purpose::Purpose);
text_enum!(crate::domain::role::Role);
text_enum!(crate::domain::scan::ScanMethod);

#[cfg(test)]
mod tests {
    use crate::domain::e_licence::ELicenceState;
    use crate::domain::submission::SubmissionState;
    use diesel::prelude::*;
    use diesel::sql_types::Text;
    use diesel::sqlite::SqliteConnection;

    fn sqlite() -> SqliteConnection {
        SqliteConnection::establish(":memory:").unwrap()
    }

    #[test]
    fn an_enum_is_bound_and_read_as_its_code() {
        let mut c = sqlite();
        let code: String = diesel::select(ELicenceState::Superseded.into_sql::<Text>())
            .get_result(&mut c)
            .unwrap();
        assert_eq!(code, "superseded");
        let state: SubmissionState = diesel::select("pending_review".into_sql::<Text>())
            .get_result(&mut c)
            .unwrap();
        assert_eq!(state, SubmissionState::PendingReview);
    }

    #[test]
    fn an_unknown_stored_code_is_a_corrupt_row_not_a_panic() {
        let mut c = sqlite();
        let read: Result<ELicenceState, _> =
            diesel::select("expired".into_sql::<Text>()).get_result(&mut c);
        let err = crate::storage::StorageError::from(read.unwrap_err());
        assert!(
            matches!(&err, crate::storage::StorageError::Corrupt(m) if m.contains("\"expired\"")),
            "{err:?}"
        );
    }
}
