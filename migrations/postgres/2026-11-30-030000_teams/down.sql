DROP TRIGGER teams_bumps_review ON teams;
DROP TRIGGER team_members_bumps_review ON team_members;
DROP INDEX audit_events_team_id;
ALTER TABLE audit_events DROP COLUMN team_id;
DROP INDEX apps_team_id;
ALTER TABLE apps DROP COLUMN team_id;
DROP TABLE team_invitations;
DROP TABLE team_members;
DROP TABLE teams;
