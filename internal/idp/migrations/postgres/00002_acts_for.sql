-- +goose Up
-- One account acting for several people (docs/IDP.md "Acting for
-- others"): the user's list, as JSON, and on each grant the RelatedPerson
-- chosen at sign-in (empty for the user's own record), so that the
-- tokens' fhirUser, and a refresh's, say who is acting.
ALTER TABLE idp_user ADD COLUMN acts_for TEXT NOT NULL DEFAULT '';
ALTER TABLE idp_auth_request ADD COLUMN fhir_user TEXT NOT NULL DEFAULT '';
ALTER TABLE idp_refresh_token ADD COLUMN fhir_user TEXT NOT NULL DEFAULT '';
ALTER TABLE idp_access_token ADD COLUMN fhir_user TEXT NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE idp_access_token DROP COLUMN fhir_user;
ALTER TABLE idp_refresh_token DROP COLUMN fhir_user;
ALTER TABLE idp_auth_request DROP COLUMN fhir_user;
ALTER TABLE idp_user DROP COLUMN acts_for;
