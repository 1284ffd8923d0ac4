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



--
-- Data for Name: archive_policy_rule; Type: TABLE DATA; Schema: public; Owner: postgres
--



--
-- Data for Name: resource_type; Type: TABLE DATA; Schema: public; Owner: postgres
--

INSERT INTO public.resource_type VALUES ('generic', 'generic', '{}', 'active', '2026-12-06 23:30:08.363495');


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

