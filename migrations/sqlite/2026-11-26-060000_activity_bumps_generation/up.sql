-- The app page (its Activity list included) is reused on the same generation as the admin
-- review (src/cache.rs), so new activity moves the generation too.
CREATE TRIGGER audit_events_insert_bumps_review AFTER INSERT ON audit_events
BEGIN
    UPDATE review_generation SET generation = generation + 1;
END;
