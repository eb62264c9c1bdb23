-- Bumped by every change to what the admin review shows (apps, their owners, their secrets,
-- including "Last Used", which is written at most once a minute per secret). The review reuses a
-- page it computed until the generation moves or the second turns (src/review.rs), so counting
-- 10,000 apps happens once per change instead of once per request.
CREATE TABLE review_generation (
    id INTEGER PRIMARY KEY NOT NULL CHECK (id = 1),
    generation INTEGER NOT NULL
);
INSERT INTO review_generation (id, generation) VALUES (1, 0);
CREATE TRIGGER apps_insert_bumps_review AFTER INSERT ON apps
BEGIN
    UPDATE review_generation SET generation = generation + 1;
END;
CREATE TRIGGER apps_update_bumps_review AFTER UPDATE ON apps
BEGIN
    UPDATE review_generation SET generation = generation + 1;
END;
CREATE TRIGGER apps_delete_bumps_review AFTER DELETE ON apps
BEGIN
    UPDATE review_generation SET generation = generation + 1;
END;
CREATE TRIGGER client_secrets_insert_bumps_review AFTER INSERT ON client_secrets
BEGIN
    UPDATE review_generation SET generation = generation + 1;
END;
CREATE TRIGGER client_secrets_update_bumps_review AFTER UPDATE ON client_secrets
BEGIN
    UPDATE review_generation SET generation = generation + 1;
END;
CREATE TRIGGER client_secrets_delete_bumps_review AFTER DELETE ON client_secrets
BEGIN
    UPDATE review_generation SET generation = generation + 1;
END;
CREATE TRIGGER users_insert_bumps_review AFTER INSERT ON users
BEGIN
    UPDATE review_generation SET generation = generation + 1;
END;
CREATE TRIGGER users_update_bumps_review AFTER UPDATE ON users
BEGIN
    UPDATE review_generation SET generation = generation + 1;
END;
CREATE TRIGGER users_delete_bumps_review AFTER DELETE ON users
BEGIN
    UPDATE review_generation SET generation = generation + 1;
END;
