-- +goose Up
-- transfers: every record syncd handed from a leaver to someone else (offboarding),
-- so that a returning leaver can get back what is still where syncd put it
-- (policy.offboarding.return_records). run_id and seq name the transfer action.
CREATE TABLE transfers (
    run_id      BIGINT      NOT NULL,
    seq         INTEGER     NOT NULL,
    idp_id      TEXT        NOT NULL,
    object      TEXT        NOT NULL,
    record_id   TEXT        NOT NULL,
    from_id     TEXT        NOT NULL,
    to_id       TEXT        NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL,
    returned_at TIMESTAMPTZ,
    PRIMARY KEY (run_id, seq, record_id)
);
CREATE INDEX transfers_pending ON transfers (idp_id) WHERE returned_at IS NULL;

-- +goose Down
DROP TABLE transfers;
