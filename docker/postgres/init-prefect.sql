-- Runs once, when the PostgreSQL volume is first initialised: the Prefect server
-- keeps its own database next to newsmon's (same server, separate schema owner).
CREATE DATABASE prefect OWNER newsmon;
