-- glee's DuckDB schema. Created once (every statement is idempotent); rows are only appended,
-- except that a failed game is replaced when it is played again (see glee/store/writer.py).
-- Column names are the public contract of DESIGN.md; JSON columns hold canonical JSON.

CREATE TABLE IF NOT EXISTS runs (
    run_id      VARCHAR PRIMARY KEY,
    started_at  TIMESTAMPTZ NOT NULL,
    config      JSON,          -- the RunConfig, with key-like values scrubbed
    git_commit  VARCHAR,
    versions    JSON,          -- glee, python, duckdb, prompt, protocol; `servers`: each started server's
                               -- backend, package version, model and the model file's sha256
    experiment  VARCHAR,
    overrides   JSON           -- the command-line overrides (glee run), a list of strings
);

CREATE TABLE IF NOT EXISTS games (
    game_id       VARCHAR PRIMARY KEY,   -- content hash of the spec: one row per game, ever
    run_id        VARCHAR,
    family        VARCHAR NOT NULL,      -- bargaining | negotiation | persuasion
    params        JSON NOT NULL,
    player_1      VARCHAR NOT NULL,      -- agent label, e.g. baseline:spe, SmolLM2-135M-Instruct@llamacpp
    player_2      VARCHAR NOT NULL,
    seed          BIGINT,
    replicate     INTEGER NOT NULL,
    status        VARCHAR NOT NULL,      -- completed | forfeit | failed | abandoned (a human left)
    end_reason    VARCHAR,               -- agreement | no_deal | outside_option | deadline | forfeit
    rounds_played INTEGER,               -- named so beside persuasion's parameter `rounds` (its horizon)
    started_at    TIMESTAMPTZ,
    finished_at   TIMESTAMPTZ,
    error         VARCHAR,               -- failed games: infrastructure error or traceback
    forfeit_seat  TINYINT,
    source_id     VARCHAR,               -- imported original GLEE games: the original id
    conforms      BOOLEAN,               -- imported games: legal under glee's rules
    conform_error VARCHAR,
    tries         INTEGER NOT NULL DEFAULT 1,  -- times played (a failed game is replayed on resume)
    spec          JSON,                  -- the GameSpec it was played from
    error_kind    VARCHAR                -- failed/abandoned: endpoint_down | timeout | transport | rate_limit |
                                         -- server_error | request_rejected | context_length | malformed_reply |
                                         -- rules_bug | player_bug | abandoned (glee.errors.ErrorKind)
);

-- Migrations of files written by earlier glee versions (idempotent, run on every open for writing).
ALTER TABLE games ADD COLUMN IF NOT EXISTS error_kind VARCHAR;

CREATE TABLE IF NOT EXISTS turns (
    game_id  VARCHAR NOT NULL,
    turn     INTEGER NOT NULL,   -- 1, 2, ... in order of play
    round    INTEGER NOT NULL,
    seat     TINYINT NOT NULL,   -- 0 is Nature
    kind     VARCHAR NOT NULL,   -- propose | respond | nature | seller_message | buyer_decision
    action   JSON,
    message  VARCHAR,            -- the free-text message of the action, if any
    valid    BOOLEAN NOT NULL,   -- False only for a forfeiting seat's last turn
    shown_at    TIMESTAMPTZ,     -- a person's turn: when it was first shown (NULL for machines)
    answered_at TIMESTAMPTZ,     -- a person's turn: when the accepted answer came
    PRIMARY KEY (game_id, turn)
);

-- Every answer a person gave, refused ones included (a model's are rows of llm_calls).
CREATE TABLE IF NOT EXISTS human_answers (
    game_id     VARCHAR NOT NULL,
    turn        INTEGER NOT NULL,
    seat        TINYINT NOT NULL,
    attempt     INTEGER NOT NULL,  -- 1, 2, ... within the turn
    shown_at    TIMESTAMPTZ,       -- when the question (or the re-ask) was shown
    answered_at TIMESTAMPTZ,
    answer      VARCHAR,           -- what was sent, field by field (JSON text, each field capped)
    parsed      JSON,              -- the action it gave, when accepted
    rejection   VARCHAR,           -- why it was refused (what the person was told), NULL when accepted
    PRIMARY KEY (game_id, turn, attempt)
);

CREATE TABLE IF NOT EXISTS llm_calls (
    game_id           VARCHAR NOT NULL,
    turn              INTEGER NOT NULL,
    seat              TINYINT NOT NULL,
    attempt           INTEGER NOT NULL,  -- 1, 2, ... within the turn
    model             VARCHAR,
    request           JSON,              -- messages added since this seat's previous call
    response          VARCHAR,
    error             VARCHAR,           -- the call failed (infrastructure)
    prompt_tokens     INTEGER,
    completion_tokens INTEGER,
    cached_tokens     INTEGER,
    latency_ms        DOUBLE,
    finish_reason     VARCHAR,
    parsed            JSON,              -- what the reply parsed to
    rejection         VARCHAR,           -- why the reply was not accepted as an action
    opponent_text_cut BOOLEAN,           -- the opponent's message in this call was cut to the cap
    PRIMARY KEY (game_id, turn, attempt)
);

CREATE TABLE IF NOT EXISTS outcomes (
    game_id      VARCHAR PRIMARY KEY,
    payoff_1     DOUBLE,
    payoff_2     DOUBLE,
    self_gain_1  DOUBLE,
    self_gain_2  DOUBLE,
    efficiency   DOUBLE,
    fairness     DOUBLE,
    agreement    BOOLEAN,
    end_reason   VARCHAR,
    rounds       INTEGER,
    forfeit_seat TINYINT,
    extras       JSON               -- the family's extra records (first_offer_share, price, sales, ...)
);

-- `glee serve-web`: where each participant is in the study (consent, quiz, games, end) and their bonus.
CREATE TABLE IF NOT EXISTS participants (
    participant     VARCHAR PRIMARY KEY,
    link            JSON,          -- the study link's fields (e.g. Prolific's STUDY_ID, SESSION_ID)
    first_seen      TIMESTAMPTZ,
    consented_at    TIMESTAMPTZ,
    quiz_tries      INTEGER,
    quiz_passed_at  TIMESTAMPTZ,
    screened_out_at TIMESTAMPTZ,   -- the quiz was failed too often: thanked, no games
    completed_at    TIMESTAMPTZ,   -- every configuration played; the completion code was shown
    completion_code VARCHAR,
    bonus           DOUBLE,        -- in the study's bonus currency
    currency        VARCHAR
);
