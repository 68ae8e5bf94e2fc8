/* gem: installed Ruby gems, from the specification RubyGems writes for each
 * installed gem (<gem dir>/specifications/<name>-<version>.gemspec, and
 * specifications/default/ for the default gems).
 *
 * Records: {"type": "gem", "name", "version", "license", "licenses",
 * "requires", "authors" (author or authors, as a list), "homepage"}: license from .license or .licenses, several joined with
 * " OR " (RubyGems lists the licences a gem may be used under), absent when
 * none is given; licenses as license.h says; requires the names given to
 * add_runtime_dependency / add_dependency (not add_development_dependency),
 * once each, absent when none. */
#ifndef STRATA_GEM_H
#define STRATA_GEM_H

#include <stddef.h>
#include <jansson.h>

#include "analyzer.h"
#include "src/base/error.h"

extern const struct analyzer analyzer_gem;

/* Reads a gemspec as text, never running it: finds the block of
 * `Gem::Specification.new do |VAR|` (or `{ |VAR|`) and the literal values
 * assigned to VAR.name, VAR.version, VAR.license and VAR.licenses (strings
 * in any Ruby quoting, with or without .freeze, Gem::Version.new("x"),
 * arrays of strings). Appends one record to out when both a name and a
 * version are found; otherwise returns -EBADMSG with err saying which is
 * missing (an interpolated string "#{...}" counts as missing). */
int gem_spec_parse(const char *data, size_t len, json_t *out, struct strata_error *err);

#endif
