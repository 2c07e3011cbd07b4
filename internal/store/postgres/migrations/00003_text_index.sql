-- +goose Up
-- Free text of each current resource for _text (narrative) and _content
-- (every string), normalised and matched word by word with LIKE; the text
-- is too long for a b-tree key, so only the per-resource index exists.
CREATE TABLE idx_text (
  res_type    text COLLATE "C" NOT NULL,
  res_id      text COLLATE "C" NOT NULL,
  patient_key text COLLATE "C" NOT NULL DEFAULT '',
  param       text COLLATE "C" NOT NULL,
  text        text COLLATE "C" NOT NULL
);
CREATE INDEX idx_text_resource ON idx_text (res_type, res_id);

-- +goose Down
DROP TABLE idx_text;
