--
-- PostgreSQL database dump
--

\restrict gnocchi

-- Dumped from database version 15.18 (Debian 15.18-0+deb12u1)
-- Dumped by pg_dump version 15.18 (Debian 15.18-0+deb12u1)

SET statement_timeout = 0;
SET lock_timeout = 0;
SET idle_in_transaction_session_timeout = 0;
SET client_encoding = 'UTF8';
SET standard_conforming_strings = on;
SELECT pg_catalog.set_config('search_path', '', false);
SET check_function_bodies = false;
SET xmloption = content;
SET client_min_messages = warning;
SET row_security = off;

--
-- Data for Name: alembic_version; Type: TABLE DATA; Schema: public; Owner: postgres
--

INSERT INTO public.alembic_version VALUES ('f89ed2e3c2ec');


--
-- Data for Name: archive_policy; Type: TABLE DATA; Schema: public; Owner: postgres
--

INSERT INTO public.archive_policy VALUES ('bool', 3600, '[{"timespan": 31536000.0, "granularity": 1.0, "points": 31536000}]', '["last"]');
INSERT INTO public.archive_policy VALUES ('low', 0, '[{"timespan": 2592000.0, "granularity": 300.0, "points": 8640}]', '["min", "std", "count", "sum", "mean", "max"]');
INSERT INTO public.archive_policy VALUES ('medium', 0, '[{"timespan": 604800.0, "granularity": 60.0, "points": 10080}, {"timespan": 31536000.0, "granularity": 3600.0, "points": 8760}]', '["min", "std", "count", "sum", "mean", "max"]');
INSERT INTO public.archive_policy VALUES ('high', 0, '[{"timespan": 3600.0, "granularity": 1.0, "points": 3600}, {"timespan": 604800.0, "granularity": 60.0, "points": 10080}, {"timespan": 31536000.0, "granularity": 3600.0, "points": 8760}]', '["min", "std", "count", "sum", "mean", "max"]');


--
-- Data for Name: archive_policy_rule; Type: TABLE DATA; Schema: public; Owner: postgres
--

INSERT INTO public.archive_policy_rule VALUES ('default', 'low', '*');


--
-- Data for Name: resource_type; Type: TABLE DATA; Schema: public; Owner: postgres
--

INSERT INTO public.resource_type VALUES ('generic', 'generic', '{}', 'active', '2026-12-06 23:30:10.865694');


--
-- Data for Name: resource; Type: TABLE DATA; Schema: public; Owner: postgres
--



--
-- Data for Name: metric; Type: TABLE DATA; Schema: public; Owner: postgres
--



--
-- Data for Name: resource_history; Type: TABLE DATA; Schema: public; Owner: postgres
--



--
-- Name: resource_history_revision_seq; Type: SEQUENCE SET; Schema: public; Owner: postgres
--

SELECT pg_catalog.setval('public.resource_history_revision_seq', 1, false);


--
-- PostgreSQL database dump complete
--

\unrestrict gnocchi

