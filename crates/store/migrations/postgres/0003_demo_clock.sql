-- How far demo time has been moved forward (`onramp demo advance`). Read only by a server started with
-- `serve --demo`; outside demo mode the clock cannot be moved.
CREATE TABLE demo_clock (
    id        INTEGER PRIMARY KEY CHECK (id = 1),
    offset_us BIGINT NOT NULL
);
