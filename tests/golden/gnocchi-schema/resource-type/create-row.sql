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
-- Data for Name: resource_type; Type: TABLE DATA; Schema: public; Owner: postgres
--

INSERT INTO public.resource_type VALUES ('generic', 'generic', '{}', 'active', '2026-12-06 23:30:13.386058');
INSERT INTO public.resource_type VALUES ('schema_probe', 'rt_10e79e20508942329df5670036494909', '{"host": {"type": "string", "required": true, "max_length": 64, "min_length": 0}, "label": {"type": "string", "required": false, "max_length": 256, "min_length": 0}, "cpus": {"type": "number", "required": false, "min": 0, "max": 256}, "load": {"type": "number", "required": true, "min": null, "max": null}, "enabled": {"type": "bool", "required": true}, "spare": {"type": "bool", "required": false}, "owner": {"type": "uuid", "required": false}, "image": {"type": "uuid", "required": true}, "booted_at": {"type": "datetime", "required": false}, "seen_at": {"type": "datetime", "required": true}}', 'active', '2026-12-06 23:30:15.116187');


--
-- PostgreSQL database dump complete
--

\unrestrict gnocchi

