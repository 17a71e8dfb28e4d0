/* SPDX-License-Identifier: Apache-2.0 */
/*
 * One location report's TS 29.571 UserLocation, decoded: which RAT, the
 * canonical cell key (lg_report_t's cell_key, the cell table's primary key)
 * and the TS 23.032 position when geographicalInformation is present. Used
 * by the batch parser (report.c) for each report; the position codec is
 * also used by the simulators. Pure: no I/O, no allocation, no global state.
 */
#ifndef LOCGUARD_SOUTH_LOCATION_H
#define LOCGUARD_SOUTH_LOCATION_H

#include "locguard/core/common.h"
#include "locguard/south/cursor.h"
#include "locguard/south/report.h"

#include <cjson/cJSON.h>

/*
 * Reads loc, a UserLocation object (the cursor at its member, e.g.
 * "/reportList/3/location"), into rep's rat, cell_key and position: exactly
 * one of eutraLocation and nrLocation (tai, and ecgi or ncgi, not marked to
 * be ignored), utraLocation (cgi, sai or rai) and geraLocation (the same;
 * a lone lai names no cell and is refused), with an optional
 * geographicalInformation. Each problem is recorded at the cursor, which is
 * left where it was; rep is then incomplete and must not be used.
 */
void lg_location_parse(lg_cursor_t *c, const cJSON *loc, lg_report_t *rep);

/*
 * Decodes a TS 23.032 ellipsoid-point-with-uncertainty-circle given as 16 hex
 * digits (geographicalInformation). Returns LG_ERR for a wrong length, a
 * non-hex digit, or another shape type.
 */
LG_MUST_CHECK int lg_location_decode_gad(const char *hex16, double *lat_deg, double *lon_deg,
                                         double *uncertainty_m);

/* Encodes the inverse of lg_location_decode_gad into out (17 bytes). */
void lg_location_encode_gad(double lat_deg, double lon_deg, double uncertainty_m, char out[17]);

#endif
