/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The one place that says which version this is. The binaries print it
 * (--version), /metrics exposes it (locguard_build_info) and the Makefile
 * reads it for `make install` and the packages it names.
 */
#ifndef LOCGUARD_VERSION_H
#define LOCGUARD_VERSION_H

#define LG_VERSION "0.1.0"

#endif
