DROP TABLE throttle_attempts;
DROP TABLE sessions;
