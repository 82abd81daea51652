CREATE EXTENSION IF NOT EXISTS postgis;

CREATE TABLE members (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    email         text        NOT NULL CHECK (email = lower(email) AND length(email) <= 254),
    password_hash text        NOT NULL,
    nickname      text        NOT NULL CHECK (length(nickname) BETWEEN 1 AND 40),
    role          text        NOT NULL CHECK (role IN ('CUSTOMER', 'OWNER', 'ADMIN')),
    timezone      text        NOT NULL DEFAULT 'Asia/Seoul',
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now()
);
-- Emails are stored lower-cased (the CHECK above), so a plain unique index
-- makes them unique case-insensitively.
CREATE UNIQUE INDEX members_email_key ON members (email);

-- Opaque refresh tokens, stored as SHA-256 hashes. Every login starts a
-- family; each refresh spends one token and issues the next in the same
-- family. Presenting a spent token means it leaked: the family is revoked.
CREATE TABLE refresh_tokens (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    member_id   bigint      NOT NULL REFERENCES members (id) ON DELETE CASCADE,
    family_id   bigint      NOT NULL,
    token_hash  bytea       NOT NULL UNIQUE,
    created_at  timestamptz NOT NULL DEFAULT now(),
    expires_at  timestamptz NOT NULL,
    spent_at    timestamptz,
    revoked_at  timestamptz
);
CREATE INDEX refresh_tokens_family_idx ON refresh_tokens (family_id);
CREATE INDEX refresh_tokens_member_idx ON refresh_tokens (member_id);
CREATE SEQUENCE refresh_token_family_seq;
