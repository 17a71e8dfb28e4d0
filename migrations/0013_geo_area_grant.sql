-- SPDX-License-Identifier: Apache-2.0
--
-- 0013_geo_area_grant: a reported position (accuracy GEO_AREA) is finer
-- than a cell and is given only to an SCS/AS the operator allowed it; the
-- others may ask for CGI_ECGI or TA_RA only.

ALTER TABLE scs ADD COLUMN geo_area_allowed boolean NOT NULL DEFAULT false;
