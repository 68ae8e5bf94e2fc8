/* analyzers: the one table of analyzers (ARCHITECTURE.md: a choice among
 * implementations is a table).
 * Order is report order; a new analyzer is one file and one line here. */
#include "config.h"

#include <string.h>

#include "analyzer.h"

extern const struct analyzer analyzer_dpkg, analyzer_dpkg_copyright, analyzer_dpkg_files, analyzer_rpm, analyzer_apk, analyzer_npm,
	analyzer_python, analyzer_gem, analyzer_java, analyzer_nuget, analyzer_secrets;

const struct analyzer *const analyzers[] = {
	&analyzer_dpkg,
	&analyzer_dpkg_copyright,
	&analyzer_dpkg_files,
	&analyzer_rpm,
	&analyzer_apk,
	&analyzer_npm,
	&analyzer_python,
	&analyzer_gem,
	&analyzer_java,
	&analyzer_nuget,
	&analyzer_secrets,
	NULL,
};

const struct analyzer *analyzer_find(const char *name)
{
	for (size_t i = 0; analyzers[i]; i++)
		if (!strcmp(analyzers[i]->name, name))
			return analyzers[i];
	return NULL;
}
