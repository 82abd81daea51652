DROP SEQUENCE IF EXISTS refresh_token_family_seq;
DROP TABLE IF EXISTS refresh_tokens;
DROP TABLE IF EXISTS members;
