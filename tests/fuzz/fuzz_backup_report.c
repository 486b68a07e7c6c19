/*
 * What the backup controller reads from outside the operator: the retention container's
 * termination message (contract §C JSON, written by a pod) and TZif zone files (any file
 * under $ZONEINFO), and the schedule string. The first byte picks the parser; the TZif
 * path also walks the zone with the cron walker, whose loops must end on any zone.
 * "invalid" is a fine answer; crashes, hangs and leaks are bugs.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "controller/internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	struct n4j_error err = {0};
	uint8_t mode = data[0] % 3;
	data++;
	size--;
	if (mode == 0) {
		struct n4j_arena *a = n4j_arena_new();
		struct ctl_backup_report r;
		if (a)
			ctl_backup_report_parse(a, (const char *)data, size, &r, &err);
		n4j_arena_free(a);
	} else if (mode == 1) {
		struct ctl_zone *z = NULL;
		if (ctl_zone_parse(data, size, &z, &err) == 0) {
			struct ctl_cron c;
			static const char *const specs[] = {"30 2 * * *", "*/15 * * * *",
							    "0 0 29 2 *"};
			for (size_t i = 0; i < 3; i++) {
				if (ctl_cron_parse(specs[i], &c, &err))
					abort();
				int64_t t = 1796205600; /* 2026-12-02 */
				for (int k = 0; k < 3 && t >= 0; k++)
					t = ctl_cron_next(&c, z, t);
			}
			ctl_zone_free(z);
		}
	} else {
		char spec[256];
		size_t n = size < sizeof(spec) - 1 ? size : sizeof(spec) - 1;
		memcpy(spec, data, n);
		spec[n] = '\0';
		struct ctl_cron c;
		if (ctl_cron_parse(spec, &c, &err) == 0) {
			struct ctl_zone *z = NULL;
			if (ctl_zone_load(NULL, &z, &err) == 0) {
				ctl_cron_next(&c, z, 1796205600);
				ctl_zone_free(z);
			}
		}
	}
	return 0;
}
