/*
 * engine: the store's engines by name (engine.h), looked up from the
 * connection's db_engine().
 */
#include "engine.h"

#include <string.h>

static const struct engine *const engines[] = {&engine_sqlite, &engine_pgsql};

const struct engine *
engine_of(const struct db *db)
{
	const char *name = db_engine(db);
	size_t i;

	for (i = 0; i < sizeof(engines) / sizeof(engines[0]); i++)
		if (strcmp(engines[i]->name, name) == 0)
			return engines[i];
	return engines[0]; /* not reached: db.c has these engines only */
}
