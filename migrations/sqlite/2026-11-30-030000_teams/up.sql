-- Teams own apps, so that an app does not depend on one person's account.
CREATE TABLE teams (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    name TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL
);

-- role is 'owner', 'developer' or 'viewer' (src/domain/team.rs).
CREATE TABLE team_members (
    team_id INTEGER NOT NULL REFERENCES teams (id) ON DELETE CASCADE,
    user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    role TEXT NOT NULL CHECK (role IN ('owner', 'developer', 'viewer')),
    joined_at TIMESTAMP NOT NULL,
    PRIMARY KEY (team_id, user_id)
);
CREATE INDEX team_members_user_id ON team_members (user_id);

-- An invitation to an email without an account, accepted when that email signs up.
CREATE TABLE team_invitations (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    team_id INTEGER NOT NULL REFERENCES teams (id) ON DELETE CASCADE,
    email TEXT NOT NULL,
    role TEXT NOT NULL CHECK (role IN ('owner', 'developer', 'viewer')),
    invited_by INTEGER REFERENCES users (id) ON DELETE SET NULL,
    created_at TIMESTAMP NOT NULL,
    UNIQUE (team_id, email)
);
CREATE INDEX team_invitations_email ON team_invitations (email);

-- NULL: a personal app of owner_id. Otherwise the team's, and owner_id is who created it. No
-- cascade: a team that owns apps cannot be deleted.
ALTER TABLE apps ADD COLUMN team_id INTEGER REFERENCES teams (id);
CREATE INDEX apps_team_id ON apps (team_id);

-- The team's Activity: membership, roles, invitations and apps moved in.
ALTER TABLE audit_events ADD COLUMN team_id INTEGER;
CREATE INDEX audit_events_team_id ON audit_events (team_id, id);
-- How many invitations one account sent lately (they are limited per day).
CREATE INDEX audit_events_actor_action ON audit_events (actor_id, action, at);

-- Who may see an app is part of what a cached app page depends on.
CREATE TRIGGER team_members_insert_bumps_review AFTER INSERT ON team_members
BEGIN
    UPDATE review_generation SET generation = generation + 1;
END;
CREATE TRIGGER team_members_update_bumps_review AFTER UPDATE ON team_members
BEGIN
    UPDATE review_generation SET generation = generation + 1;
END;
CREATE TRIGGER team_members_delete_bumps_review AFTER DELETE ON team_members
BEGIN
    UPDATE review_generation SET generation = generation + 1;
END;
CREATE TRIGGER teams_update_bumps_review AFTER UPDATE ON teams
BEGIN
    UPDATE review_generation SET generation = generation + 1;
END;
