CREATE INDEX verification_audit_officer ON verification_audit (officer_token_id, id);
CREATE INDEX verification_audit_e_licence ON verification_audit (e_licence_id, id);
