/* license: the SPDX License List, the SPDX expression reader, and the
 * reading of packages' licence declarations as SPDX expressions (see
 * license.h). The name table says what a name means where the peers'
 * readers and the names' own documentation agree; a name that could mean
 * several licences ("BSD", "Apache", "MIT-style") is kept as text. */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "analyzer.h"
#include "src/base/digest.h"
#include "license.h"

/* SPDX license and exception identifiers, sorted without regard to case:
 * the enum of spdx.schema.json (license list 3.28) that CycloneDX 1.5
 * validates license ids against (tests/data/schemas/spdx.schema.json;
 * test-license checks that every one of them is found here). */
static const char *const license_ids[] = {
	"0BSD", "389-exception", "3D-Slicer-1.0", "AAL", "Abstyles", "AdaCore-doc", "Adobe-2006",
	"Adobe-Display-PostScript", "Adobe-Glyph", "Adobe-Utopia", "ADSL",
	"Advanced-Cryptics-Dictionary", "AFL-1.1", "AFL-1.2", "AFL-2.0", "AFL-2.1", "AFL-3.0",
	"Afmparse", "AGPL-1.0", "AGPL-1.0-only", "AGPL-1.0-or-later", "AGPL-3.0", "AGPL-3.0-only",
	"AGPL-3.0-or-later", "Aladdin", "ALGLIB-Documentation", "AMD-newlib", "AMDPLPA", "AML",
	"AML-glslang", "AMPAS", "ANTLR-PD", "ANTLR-PD-fallback", "any-OSI", "any-OSI-perl-modules",
	"Apache-1.0", "Apache-1.1", "Apache-2.0", "APAFML", "APL-1.0", "App-s2p", "APSL-1.0",
	"APSL-1.1", "APSL-1.2", "APSL-2.0", "Arphic-1999", "Artistic-1.0", "Artistic-1.0-cl8",
	"Artistic-1.0-Perl", "Artistic-2.0", "Artistic-dist", "Aspell-RU", "Asterisk-exception",
	"Asterisk-linking-protocols-exception", "ASWF-Digital-Assets-1.0",
	"ASWF-Digital-Assets-1.1", "Autoconf-exception-2.0", "Autoconf-exception-3.0",
	"Autoconf-exception-generic", "Autoconf-exception-generic-3.0", "Autoconf-exception-macro",
	"Baekmuk", "Bahyph", "Barr", "bcrypt-Solar-Designer", "Beerware", "Bison-exception-1.24",
	"Bison-exception-2.2", "Bitstream-Charter", "Bitstream-Vera", "BitTorrent-1.0",
	"BitTorrent-1.1", "blessing", "BlueOak-1.0.0", "Boehm-GC", "Boehm-GC-without-fee",
	"BOLA-1.1", "Bootloader-exception", "Borceux", "Brian-Gladman-2-Clause",
	"Brian-Gladman-3-Clause", "BSD-1-Clause", "BSD-2-Clause", "BSD-2-Clause-Darwin",
	"BSD-2-Clause-first-lines", "BSD-2-Clause-FreeBSD", "BSD-2-Clause-NetBSD",
	"BSD-2-Clause-Patent", "BSD-2-Clause-pkgconf-disclaimer", "BSD-2-Clause-Views",
	"BSD-3-Clause", "BSD-3-Clause-acpica", "BSD-3-Clause-Attribution", "BSD-3-Clause-Clear",
	"BSD-3-Clause-flex", "BSD-3-Clause-HP", "BSD-3-Clause-LBNL", "BSD-3-Clause-Modification",
	"BSD-3-Clause-No-Military-License", "BSD-3-Clause-No-Nuclear-License",
	"BSD-3-Clause-No-Nuclear-License-2014", "BSD-3-Clause-No-Nuclear-Warranty",
	"BSD-3-Clause-Open-MPI", "BSD-3-Clause-Sun", "BSD-3-Clause-Tso", "BSD-4-Clause",
	"BSD-4-Clause-Shortened", "BSD-4-Clause-UC", "BSD-4.3RENO", "BSD-4.3TAHOE",
	"BSD-Advertising-Acknowledgement", "BSD-Attribution-HPND-disclaimer",
	"BSD-Inferno-Nettverk", "BSD-Mark-Modifications", "BSD-Protection",
	"BSD-Source-beginning-file", "BSD-Source-Code", "BSD-Systemics", "BSD-Systemics-W3Works",
	"BSL-1.0", "Buddy", "BUSL-1.1", "bzip2-1.0.5", "bzip2-1.0.6", "C-UDA-1.0", "CAL-1.0",
	"CAL-1.0-Combined-Work-Exception", "Caldera", "Caldera-no-preamble", "CAPEC-tou",
	"Catharon", "CATOSL-1.1", "CC-BY-1.0", "CC-BY-2.0", "CC-BY-2.5", "CC-BY-2.5-AU",
	"CC-BY-3.0", "CC-BY-3.0-AT", "CC-BY-3.0-AU", "CC-BY-3.0-DE", "CC-BY-3.0-IGO",
	"CC-BY-3.0-NL", "CC-BY-3.0-US", "CC-BY-4.0", "CC-BY-NC-1.0", "CC-BY-NC-2.0",
	"CC-BY-NC-2.5", "CC-BY-NC-3.0", "CC-BY-NC-3.0-DE", "CC-BY-NC-4.0", "CC-BY-NC-ND-1.0",
	"CC-BY-NC-ND-2.0", "CC-BY-NC-ND-2.5", "CC-BY-NC-ND-3.0", "CC-BY-NC-ND-3.0-DE",
	"CC-BY-NC-ND-3.0-IGO", "CC-BY-NC-ND-4.0", "CC-BY-NC-SA-1.0", "CC-BY-NC-SA-2.0",
	"CC-BY-NC-SA-2.0-DE", "CC-BY-NC-SA-2.0-FR", "CC-BY-NC-SA-2.0-UK", "CC-BY-NC-SA-2.5",
	"CC-BY-NC-SA-3.0", "CC-BY-NC-SA-3.0-DE", "CC-BY-NC-SA-3.0-IGO", "CC-BY-NC-SA-4.0",
	"CC-BY-ND-1.0", "CC-BY-ND-2.0", "CC-BY-ND-2.5", "CC-BY-ND-3.0", "CC-BY-ND-3.0-DE",
	"CC-BY-ND-4.0", "CC-BY-SA-1.0", "CC-BY-SA-2.0", "CC-BY-SA-2.0-UK", "CC-BY-SA-2.1-JP",
	"CC-BY-SA-2.5", "CC-BY-SA-3.0", "CC-BY-SA-3.0-AT", "CC-BY-SA-3.0-DE", "CC-BY-SA-3.0-IGO",
	"CC-BY-SA-4.0", "CC-PDDC", "CC-PDM-1.0", "CC-SA-1.0", "CC0-1.0", "CDDL-1.0", "CDDL-1.1",
	"CDL-1.0", "CDLA-Permissive-1.0", "CDLA-Permissive-2.0", "CDLA-Sharing-1.0", "CECILL-1.0",
	"CECILL-1.1", "CECILL-2.0", "CECILL-2.1", "CECILL-B", "CECILL-C", "CERN-OHL-1.1",
	"CERN-OHL-1.2", "CERN-OHL-P-2.0", "CERN-OHL-S-2.0", "CERN-OHL-W-2.0", "CFITSIO",
	"CGAL-linking-exception", "check-cvs", "checkmk", "ClArtistic", "Classpath-exception-2.0",
	"Classpath-exception-2.0-short", "Clips", "CLISP-exception-2.0", "CMU-Mach",
	"CMU-Mach-nodoc", "CNRI-Jython", "CNRI-Python", "CNRI-Python-GPL-Compatible", "COIL-1.0",
	"Community-Spec-1.0", "Condor-1.1", "copyleft-next-0.3.0", "copyleft-next-0.3.1",
	"Cornell-Lossless-JPEG", "CPAL-1.0", "CPL-1.0", "CPOL-1.02", "Cronyx", "Crossword",
	"CryptoSwift", "cryptsetup-OpenSSL-exception", "CrystalStacker", "CUA-OPL-1.0", "Cube",
	"curl", "cve-tou", "D-FSL-1.0", "DEC-3-Clause", "diffmark", "Digia-Qt-LGPL-exception-1.1",
	"DigiRule-FOSS-exception", "DL-DE-BY-2.0", "DL-DE-ZERO-2.0", "DOC", "DocBook-DTD",
	"DocBook-Schema", "DocBook-Stylesheet", "DocBook-XML", "Dotseqn", "DRL-1.0", "DRL-1.1",
	"DSDP", "dtoa", "dvipdfm", "ECL-1.0", "ECL-2.0", "eCos-2.0", "eCos-exception-2.0",
	"EFL-1.0", "EFL-2.0", "eGenix", "Elastic-2.0", "Entessa", "EPICS", "EPL-1.0", "EPL-2.0",
	"erlang-otp-linking-exception", "ErlPL-1.1", "ESA-PL-permissive-2.4",
	"ESA-PL-strong-copyleft-2.4", "ESA-PL-weak-copyleft-2.4", "etalab-2.0", "EUDatagrid",
	"EUPL-1.0", "EUPL-1.1", "EUPL-1.2", "Eurosym", "Fair", "Fawkes-Runtime-exception", "FBM",
	"FDK-AAC", "Ferguson-Twofish", "FLTK-exception", "fmt-exception", "Font-exception-2.0",
	"Frameworx-1.0", "FreeBSD-DOC", "FreeImage", "freertos-exception-2.0", "FSFAP",
	"FSFAP-no-warranty-disclaimer", "FSFUL", "FSFULLR", "FSFULLRSD", "FSFULLRWD",
	"FSL-1.1-ALv2", "FSL-1.1-MIT", "FTL", "Furuseth", "fwlw", "Game-Programming-Gems",
	"GCC-exception-2.0", "GCC-exception-2.0-note", "GCC-exception-3.1", "GCR-docs", "GD",
	"generic-xts", "GFDL-1.1", "GFDL-1.1-invariants-only", "GFDL-1.1-invariants-or-later",
	"GFDL-1.1-no-invariants-only", "GFDL-1.1-no-invariants-or-later", "GFDL-1.1-only",
	"GFDL-1.1-or-later", "GFDL-1.2", "GFDL-1.2-invariants-only",
	"GFDL-1.2-invariants-or-later", "GFDL-1.2-no-invariants-only",
	"GFDL-1.2-no-invariants-or-later", "GFDL-1.2-only", "GFDL-1.2-or-later", "GFDL-1.3",
	"GFDL-1.3-invariants-only", "GFDL-1.3-invariants-or-later", "GFDL-1.3-no-invariants-only",
	"GFDL-1.3-no-invariants-or-later", "GFDL-1.3-only", "GFDL-1.3-or-later", "Giftware",
	"GL2PS", "Glide", "Glulxe", "GLWTPL", "Gmsh-exception", "GNAT-exception",
	"GNOME-examples-exception", "GNU-compiler-exception", "gnu-javamail-exception", "gnuplot",
	"GPL-1.0", "GPL-1.0+", "GPL-1.0-only", "GPL-1.0-or-later", "GPL-2.0", "GPL-2.0+",
	"GPL-2.0-only", "GPL-2.0-or-later", "GPL-2.0-with-autoconf-exception",
	"GPL-2.0-with-bison-exception", "GPL-2.0-with-classpath-exception",
	"GPL-2.0-with-font-exception", "GPL-2.0-with-GCC-exception", "GPL-3.0", "GPL-3.0+",
	"GPL-3.0-389-ds-base-exception", "GPL-3.0-interface-exception",
	"GPL-3.0-linking-exception", "GPL-3.0-linking-source-exception", "GPL-3.0-only",
	"GPL-3.0-or-later", "GPL-3.0-with-autoconf-exception", "GPL-3.0-with-GCC-exception",
	"GPL-CC-1.0", "Graphics-Gems", "gSOAP-1.3b", "GStreamer-exception-2005",
	"GStreamer-exception-2008", "gtkbook", "Gutmann", "harbour-exception", "HaskellReport",
	"HDF5", "hdparm", "HIDAPI", "Hippocratic-2.1", "HP-1986", "HP-1989", "HPND", "HPND-DEC",
	"HPND-doc", "HPND-doc-sell", "HPND-export-US", "HPND-export-US-acknowledgement",
	"HPND-export-US-modify", "HPND-export2-US", "HPND-Fenneberg-Livingston", "HPND-INRIA-IMAG",
	"HPND-Intel", "HPND-Kevlin-Henney", "HPND-Markus-Kuhn", "HPND-merchantability-variant",
	"HPND-MIT-disclaimer", "HPND-Netrek", "HPND-Pbmplus", "HPND-sell-MIT-disclaimer-xserver",
	"HPND-sell-regexpr", "HPND-sell-variant", "HPND-sell-variant-critical-systems",
	"HPND-sell-variant-MIT-disclaimer", "HPND-sell-variant-MIT-disclaimer-rev", "HPND-SMC",
	"HPND-UC", "HPND-UC-export-US", "HTMLTIDY", "hyphen-bulgarian", "i2p-gpl-java-exception",
	"IBM-pibs", "ICU", "IEC-Code-Components-EULA", "IJG", "IJG-short", "ImageMagick", "iMatix",
	"Imlib2", "Independent-modules-exception", "Info-ZIP", "Inner-Net-2.0", "InnoSetup",
	"Intel", "Intel-ACPI", "Interbase-1.0", "IPA", "IPL-1.0", "ISC", "ISC-Veillard",
	"ISO-permission", "Jam", "JasPer-2.0", "jove", "JPL-image", "JPNIC", "JSON", "Kastrup",
	"Kazlib", "KiCad-libraries-exception", "Knuth-CTAN", "kvirc-openssl-exception", "LAL-1.2",
	"LAL-1.3", "Latex2e", "Latex2e-translated-notice", "Leptonica", "LGPL-2.0", "LGPL-2.0+",
	"LGPL-2.0-only", "LGPL-2.0-or-later", "LGPL-2.1", "LGPL-2.1+", "LGPL-2.1-only",
	"LGPL-2.1-or-later", "LGPL-3.0", "LGPL-3.0+", "LGPL-3.0-linking-exception",
	"LGPL-3.0-only", "LGPL-3.0-or-later", "LGPLLR", "Libpng", "libpng-1.6.35", "libpng-2.0",
	"libpri-OpenH323-exception", "libselinux-1.0", "libtiff", "Libtool-exception",
	"libutil-David-Nugent", "LiLiQ-P-1.1", "LiLiQ-R-1.1", "LiLiQ-Rplus-1.1",
	"Linux-man-pages-1-para", "Linux-man-pages-copyleft", "Linux-man-pages-copyleft-2-para",
	"Linux-man-pages-copyleft-var", "Linux-OpenIB", "Linux-syscall-note", "LLGPL",
	"LLVM-exception", "LOOP", "LPD-document", "LPL-1.0", "LPL-1.02", "LPPL-1.0", "LPPL-1.1",
	"LPPL-1.2", "LPPL-1.3a", "LPPL-1.3c", "lsof", "Lucida-Bitmap-Fonts", "LZMA-exception",
	"LZMA-SDK-9.11-to-9.20", "LZMA-SDK-9.22", "Mackerras-3-Clause",
	"Mackerras-3-Clause-acknowledgment", "magaz", "mailprio", "MakeIndex", "man2html",
	"Martin-Birgmeier", "McPhee-slideshow", "metamail", "mif-exception", "Minpack", "MIPS",
	"MirOS", "MIT", "MIT-0", "MIT-advertising", "MIT-Click", "MIT-CMU", "MIT-enna", "MIT-feh",
	"MIT-Festival", "MIT-Khronos-old", "MIT-Modern-Variant", "MIT-open-group", "MIT-STK",
	"MIT-testregex", "MIT-Wu", "MITNFA", "MMIXware", "MMPL-1.0.1", "Motosoto", "MPEG-SSG",
	"mpi-permissive", "mpich2", "MPL-1.0", "MPL-1.1", "MPL-2.0",
	"MPL-2.0-no-copyleft-exception", "mplus", "MS-LPL", "MS-PL", "MS-RL", "MTLL",
	"MulanPSL-1.0", "MulanPSL-2.0", "Multics", "Mup", "mxml-exception", "NAIST-2003",
	"NASA-1.3", "Naumen", "NBPL-1.0", "NCBI-PD", "NCGL-UK-2.0", "NCL", "NCSA", "Net-SNMP",
	"NetCDF", "Newsletr", "NGPL", "ngrep", "NICTA-1.0", "NIST-PD", "NIST-PD-fallback",
	"NIST-PD-TNT", "NIST-Software", "NLOD-1.0", "NLOD-2.0", "NLPL", "Nokia",
	"Nokia-Qt-exception-1.1", "NOSL", "Noweb", "NPL-1.0", "NPL-1.1", "NPOSL-3.0", "NRL",
	"NTIA-PD", "NTP", "NTP-0", "Nunit", "O-UDA-1.0", "OAR", "OCaml-LGPL-linking-exception",
	"OCCT-exception-1.0", "OCCT-PL", "OCLC-2.0", "ODbL-1.0", "ODC-By-1.0", "OFFIS", "OFL-1.0",
	"OFL-1.0-no-RFN", "OFL-1.0-RFN", "OFL-1.1", "OFL-1.1-no-RFN", "OFL-1.1-RFN", "OGC-1.0",
	"OGDL-Taiwan-1.0", "OGL-Canada-2.0", "OGL-UK-1.0", "OGL-UK-2.0", "OGL-UK-3.0", "OGTSL",
	"OLDAP-1.1", "OLDAP-1.2", "OLDAP-1.3", "OLDAP-1.4", "OLDAP-2.0", "OLDAP-2.0.1",
	"OLDAP-2.1", "OLDAP-2.2", "OLDAP-2.2.1", "OLDAP-2.2.2", "OLDAP-2.3", "OLDAP-2.4",
	"OLDAP-2.5", "OLDAP-2.6", "OLDAP-2.7", "OLDAP-2.8", "OLFL-1.3", "OML",
	"OpenJDK-assembly-exception-1.0", "OpenMDW-1.0", "OpenPBS-2.3", "OpenSSL",
	"OpenSSL-standalone", "OpenVision", "openvpn-openssl-exception", "OPL-1.0", "OPL-UK-3.0",
	"OPUBL-1.0", "OSC-1.0", "OSET-PL-2.1", "OSL-1.0", "OSL-1.1", "OSL-2.0", "OSL-2.1",
	"OSL-3.0", "OSSP", "PADL", "ParaType-Free-Font-1.3", "Parity-6.0.0", "Parity-7.0.0",
	"PCRE2-exception", "PDDL-1.0", "PHP-3.0", "PHP-3.01", "Pixar", "pkgconf", "Plexus",
	"pnmstitch", "PolyForm-Noncommercial-1.0.0", "PolyForm-Small-Business-1.0.0",
	"polyparse-exception", "PostgreSQL", "PPL", "PS-or-PDF-font-exception-20170817", "PSF-2.0",
	"psfrag", "psutils", "Python-2.0", "Python-2.0.1", "python-ldap", "Qhull", "QPL-1.0",
	"QPL-1.0-INRIA-2004", "QPL-1.0-INRIA-2004-exception", "Qt-GPL-exception-1.0",
	"Qt-LGPL-exception-1.1", "Qwt-exception-1.0", "radvd", "Rdisc", "RHeCos-1.1",
	"romic-exception", "RPL-1.1", "RPL-1.5", "RPSL-1.0", "RRDtool-FLOSS-exception-2.0",
	"RSA-MD", "RSCPL", "rsync-linking-exception", "Ruby", "Ruby-pty", "SANE-exception",
	"SAX-PD", "SAX-PD-2.0", "Saxpath", "SCEA", "SchemeReport", "Sendmail", "Sendmail-8.23",
	"Sendmail-Open-Source-1.1", "SGI-B-1.0", "SGI-B-1.1", "SGI-B-2.0", "SGI-OpenGL",
	"SGMLUG-PM", "SGP4", "SHL-0.5", "SHL-0.51", "SHL-2.0", "SHL-2.1", "SimPL-2.0",
	"Simple-Library-Usage-exception", "SISSL", "SISSL-1.2", "SL", "Sleepycat", "SMAIL-GPL",
	"SMLNJ", "SMPPL", "SNIA", "snprintf", "SOFA", "softSurfer", "Soundex", "Spencer-86",
	"Spencer-94", "Spencer-99", "SPL-1.0", "sqlitestudio-OpenSSL-exception", "ssh-keyscan",
	"SSH-OpenSSH", "SSH-short", "SSLeay-standalone", "SSPL-1.0", "StandardML-NJ",
	"stunnel-exception", "SugarCRM-1.1.3", "SUL-1.0", "Sun-PPP", "Sun-PPP-2000", "SunPro",
	"SWI-exception", "Swift-exception", "SWL", "swrule", "Symlinks", "TAPR-OHL-1.0", "TCL",
	"TCP-wrappers", "TekHVC", "TermReadKey", "Texinfo-exception", "TGPPL-1.0", "ThirdEye",
	"threeparttable", "TMate", "TORQUE-1.1", "TOSL", "TPDL", "TPL-1.0", "TrustedQSL", "TTWL",
	"TTYP0", "TU-Berlin-1.0", "TU-Berlin-2.0", "u-boot-exception-2.0", "UBDL-exception",
	"Ubuntu-font-1.0", "UCAR", "UCL-1.0", "ulem", "UMich-Merit", "Unicode-3.0",
	"Unicode-DFS-2015", "Unicode-DFS-2016", "Unicode-TOU", "Universal-FOSS-exception-1.0",
	"UnixCrypt", "Unlicense", "Unlicense-libtelnet", "Unlicense-libwhirlpool", "UnRAR",
	"UPL-1.0", "URT-RLE", "Vim", "Vixie-Cron", "VOSTROM", "vsftpd-openssl-exception",
	"VSL-1.0", "W3C", "W3C-19980720", "W3C-20150513", "w3m", "Watcom-1.0", "Widget-Workshop",
	"WordNet", "Wsuipa", "WTFNMFPL", "WTFPL", "wwl", "wxWindows", "WxWindows-exception-3.1",
	"X11", "X11-distribute-modifications-variant", "X11-no-permit-persons", "X11-swapped",
	"x11vnc-openssl-exception", "Xdebug-1.03", "Xerox", "Xfig", "XFree86-1.1", "xinetd",
	"xkeyboard-config-Zinoviev", "xlock", "Xnet", "xpp", "XSkat", "xzoom", "YPL-1.0",
	"YPL-1.1", "Zed", "Zeeff", "Zend-2.0", "Zimbra-1.3", "Zimbra-1.4", "Zlib",
	"zlib-acknowledgement", "ZPL-1.1", "ZPL-2.0", "ZPL-2.1",
};

#define NLICENSES (sizeof(license_ids) / sizeof(license_ids[0]))

/* Compares the len bytes of key with id, both ASCII-lowercased. */
static int license_cmp(const char *key, size_t len, const char *id)
{
	size_t i = 0;
	for (; i < len && id[i]; i++) {
		int a = (unsigned char)key[i], b = (unsigned char)id[i];
		if (a >= 'A' && a <= 'Z')
			a += 'a' - 'A';
		if (b >= 'A' && b <= 'Z')
			b += 'a' - 'A';
		if (a != b)
			return a - b;
	}
	if (i == len)
		return id[i] ? -1 : 0;
	return 1;
}

const char *license_id(const char *s, size_t len)
{
	size_t lo = 0, hi = NLICENSES;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = license_cmp(s, len, license_ids[mid]);
		if (c == 0)
			return license_ids[mid];
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return NULL;
}


/* --- names ----------------------------------------------------------------- */

/* A name as read for lookup: upper case, white space runs made one space,
 * "the" and a trailing "license" dropped, "or later" and "only" taken off
 * as flags, a trailing version written "-N" ("GPLv2" -> "GPL-2",
 * "Apache License, Version 2.0" -> "APACHE-2.0"). */
#define KEY_MAX 160

struct key {
	char s[KEY_MAX + 8];   /* room for ".0" */
	size_t n;
	char raw[KEY_MAX + 8]; /* s before the version was rewritten ("X11") */
	int plus, only;
};

/* GNU licences are written with -only or -or-later (SPDX License List 3.0
 * on); the bare identifiers are deprecated. */
static const char *const gnu_ids[] = {
	"AGPL-1.0", "AGPL-3.0", "GFDL-1.1", "GFDL-1.1-invariants", "GFDL-1.1-no-invariants",
	"GFDL-1.2", "GFDL-1.2-invariants", "GFDL-1.2-no-invariants", "GFDL-1.3",
	"GFDL-1.3-invariants", "GFDL-1.3-no-invariants", "GPL-1.0", "GPL-2.0", "GPL-3.0",
	"LGPL-2.0", "LGPL-2.1", "LGPL-3.0",
};

/* Deprecated identifiers with an exception folded in. */
static const struct folded {
	const char *id, *base, *exception;
} folded[] = {
	{ "GPL-2.0-with-autoconf-exception", "GPL-2.0", "Autoconf-exception-2.0" },
	{ "GPL-2.0-with-bison-exception", "GPL-2.0", "Bison-exception-2.2" },
	{ "GPL-2.0-with-classpath-exception", "GPL-2.0", "Classpath-exception-2.0" },
	{ "GPL-2.0-with-font-exception", "GPL-2.0", "Font-exception-2.0" },
	{ "GPL-2.0-with-GCC-exception", "GPL-2.0", "GCC-exception-2.0" },
	{ "GPL-3.0-with-autoconf-exception", "GPL-3.0", "Autoconf-exception-3.0" },
	{ "GPL-3.0-with-GCC-exception", "GPL-3.0", "GCC-exception-3.1" },
};

/* Names that are not identifiers, as keys (see struct key), and what each
 * means. Only names with one meaning: "BSD", "Apache", "MIT-style" or
 * "public domain" are not here and stay text. An unversioned GPL is any
 * version (its own section 9), so GPL-1.0 or later; the first LGPL was 2.0. */
static const struct name {
	const char *key, *id;
	int plus;
} names[] = {
	{ "2-CLAUSE BSD", "BSD-2-Clause", 0 },
	{ "3-CLAUSE BSD", "BSD-3-Clause", 0 },
	{ "AFFERO GENERAL PUBLIC-3.0", "AGPL-3.0", 0 },
	{ "AL-2.0", "Apache-2.0", 0 },
	{ "APACHE PUBLIC-2.0", "Apache-2.0", 0 },
	{ "APACHE SOFTWARE-1.1", "Apache-1.1", 0 },
	{ "APACHE SOFTWARE-2.0", "Apache-2.0", 0 },
	{ "APL-2.0", "Apache-2.0", 0 },
	{ "ASF-2.0", "Apache-2.0", 0 },
	{ "ASL-1.0", "Apache-1.0", 0 },
	{ "ASL-1.1", "Apache-1.1", 0 },
	{ "ASL-2.0", "Apache-2.0", 0 },
	{ "BOOST", "BSL-1.0", 0 },
	{ "BOOST SOFTWARE", "BSL-1.0", 0 },
	{ "BOOST SOFTWARE-1.0", "BSL-1.0", 0 },
	{ "BSD 2 CLAUSE", "BSD-2-Clause", 0 },
	{ "BSD 2-CLAUSE", "BSD-2-Clause", 0 },
	{ "BSD 3 CLAUSE", "BSD-3-Clause", 0 },
	{ "BSD 3-CLAUSE", "BSD-3-Clause", 0 },
	{ "BSD 4 CLAUSE", "BSD-4-Clause", 0 },
	{ "BSD 4-CLAUSE", "BSD-4-Clause", 0 },
	{ "BSD NEW", "BSD-3-Clause", 0 },
	{ "BSD THREE CLAUSE", "BSD-3-Clause", 0 },
	{ "BSD TWO CLAUSE", "BSD-2-Clause", 0 },
	{ "BSD-2.0", "BSD-2-Clause", 0 },
	{ "BSD-3 CLAUSE", "BSD-3-Clause", 0 },
	{ "BSD-3.0", "BSD-3-Clause", 0 },
	{ "BSD-4.0", "BSD-4-Clause", 0 },
	{ "CC0", "CC0-1.0", 0 },
	{ "COMMON DEVELOPMENT AND DISTRIBUTION-1.0", "CDDL-1.0", 0 },
	{ "COMMON DEVELOPMENT AND DISTRIBUTION-1.1", "CDDL-1.1", 0 },
	{ "ECLIPSE PUBLIC-1.0", "EPL-1.0", 0 },
	{ "ECLIPSE PUBLIC-2.0", "EPL-2.0", 0 },
	{ "EDL-1.0", "BSD-3-Clause", 0 },
	{ "EUROPEAN UNION PUBLIC-1.1", "EUPL-1.1", 0 },
	{ "EUROPEAN UNION PUBLIC-1.2", "EUPL-1.2", 0 },
	{ "EXPAT", "MIT", 0 },
	{ "FREE DOCUMENTATION-1.1", "GFDL-1.1", 0 },
	{ "FREE DOCUMENTATION-1.2", "GFDL-1.2", 0 },
	{ "FREE DOCUMENTATION-1.3", "GFDL-1.3", 0 },
	{ "GENERAL PUBLIC", "GPL-1.0", 1 },
	{ "GENERAL PUBLIC-1.0", "GPL-1.0", 0 },
	{ "GENERAL PUBLIC-2.0", "GPL-2.0", 0 },
	{ "GENERAL PUBLIC-3.0", "GPL-3.0", 0 },
	{ "GFDL", "GFDL-1.1", 1 },
	{ "GFDL-NIV-1.1", "GFDL-1.1-no-invariants", 0 },
	{ "GFDL-NIV-1.2", "GFDL-1.2-no-invariants", 0 },
	{ "GFDL-NIV-1.3", "GFDL-1.3-no-invariants", 0 },
	{ "GPL", "GPL-1.0", 1 },
	{ "ISCL", "ISC", 0 },
	{ "LESSER GENERAL PUBLIC-2.1", "LGPL-2.1", 0 },
	{ "LESSER GENERAL PUBLIC-3.0", "LGPL-3.0", 0 },
	{ "LGPL", "LGPL-2.0", 1 },
	{ "LIBRARY GENERAL PUBLIC-2.0", "LGPL-2.0", 0 },
	{ "MIT/EXPAT", "MIT", 0 },
	{ "MODIFIED BSD", "BSD-3-Clause", 0 },
	{ "MOZILLA PUBLIC-1.0", "MPL-1.0", 0 },
	{ "MOZILLA PUBLIC-1.1", "MPL-1.1", 0 },
	{ "MOZILLA PUBLIC-2.0", "MPL-2.0", 0 },
	{ "NCSA OPEN SOURCE", "NCSA", 0 },
	{ "NEW BSD", "BSD-3-Clause", 0 },
	{ "PSF", "PSF-2.0", 0 },
	{ "PSFL", "PSF-2.0", 0 },
	{ "PYTHON SOFTWARE FOUNDATION", "PSF-2.0", 0 },
	{ "PYTHON SOFTWARE FOUNDATION-2.0", "PSF-2.0", 0 },
	{ "REVISED BSD", "BSD-3-Clause", 0 },
	{ "RUBY'S", "Ruby", 0 },
	{ "SIL OPEN FONT-1.1", "OFL-1.1", 0 },
	{ "SIMPLIFIED BSD", "BSD-2-Clause", 0 },
	{ "UNIVERSAL PERMISSIVE-1.0", "UPL-1.0", 0 },
	{ "UPL", "UPL-1.0", 0 },
	{ "ZLIB/LIBPNG", "Zlib", 0 },
};

static int is_blank(int c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

static int up(int c)
{
	return c >= 'a' && c <= 'z' ? c - 'a' + 'A' : c;
}

static int is_digit(int c)
{
	return c >= '0' && c <= '9';
}

static int ends(const struct key *k, const char *suffix)
{
	size_t m = strlen(suffix);
	return k->n >= m && !memcmp(k->s + k->n - m, suffix, m);
}

/* Drops suffix when k ends with it (and leaves something before it). */
static int cut(struct key *k, const char *suffix)
{
	size_t m = strlen(suffix);
	if (k->n <= m || !ends(k, suffix))
		return 0;
	k->n -= m;
	k->s[k->n] = '\0';
	return 1;
}

/* "GPLv2", "GPL 2", "Apache License, Version 2.0", "LGPL-2.1": the trailing
 * version as "-N". The character before the version's marker must be a
 * letter other than V or a ')': "MIT-0" and "BSD-3-Clause" stay as they are. */
static void version_suffix(struct key *k)
{
	size_t i = k->n, end = k->n;
	while (i && (is_digit((unsigned char)k->s[i - 1]) || k->s[i - 1] == '.'))
		i--;
	if (i == end || k->s[i] < '1' || k->s[i] > '9' || k->s[end - 1] == '.')
		return;
	size_t vstart = i;
	while (i && k->s[i - 1] == ' ')
		i--;
	static const char *const markers[] = { "VERSION-", "VERSION", "VER.", "VER", "V.", "V", "-" };
	for (size_t m = 0; m < sizeof(markers) / sizeof(markers[0]); m++) {
		size_t ml = strlen(markers[m]);
		if (i >= ml && !memcmp(k->s + i - ml, markers[m], ml)) {
			i -= ml;
			break;
		}
	}
	while (i && k->s[i - 1] == ' ')
		i--;
	if (i && (k->s[i - 1] == ',' || k->s[i - 1] == '(' || k->s[i - 1] == '-'))
		i--;
	while (i && k->s[i - 1] == ' ')
		i--;
	if (i >= 8 && !memcmp(k->s + i - 8, " LICENSE", 8))
		i -= 8;
	if (!i)
		return;
	char c = k->s[i - 1];
	if (!((c >= 'A' && c <= 'Z' && c != 'V') || c == ')'))
		return;
	char v[KEY_MAX];
	size_t vn = end - vstart;
	memcpy(v, k->s + vstart, vn);
	k->s[i] = '-';
	memcpy(k->s + i + 1, v, vn);
	k->n = i + 1 + vn;
	k->s[k->n] = '\0';
}

/* Fills k from s; 0 when s is empty or too long to be a name. */
static int key_read(const char *s, size_t len, struct key *k)
{
	memset(k, 0, sizeof(*k));
	for (size_t i = 0; i < len; i++) {
		int c = (unsigned char)s[i];
		if (is_blank(c)) {
			if (k->n && k->s[k->n - 1] != ' ')
				k->s[k->n++] = ' ';
		} else {
			k->s[k->n++] = (char)up(c);
		}
		if (k->n >= KEY_MAX)
			return 0;
	}
	while (k->n && (k->s[k->n - 1] == ' ' || k->s[k->n - 1] == '.' || k->s[k->n - 1] == ','))
		k->n--;
	k->s[k->n] = '\0';
	/* "licence" is the British spelling of the same word. */
	for (char *p = k->s; (p = strstr(p, "LICENCE")); p += 7)
		p[5] = 'S';
	if (k->n > 4 && !memcmp(k->s, "THE ", 4)) {
		memmove(k->s, k->s + 4, k->n - 3);
		k->n -= 4;
	}
	for (int again = 1; again;) {
		again = 0;
		static const char *const plus[] = { "+", "-OR-LATER", " OR LATER", " OR ANY LATER VERSION",
						    " OR NEWER", " OR GREATER" };
		static const char *const only[] = { "-ONLY", " ONLY" };
		static const char *const word[] = { " LICENSE", " LICENSED", "-LICENSE", "-LICENSED" };
		for (size_t i = 0; i < sizeof(plus) / sizeof(plus[0]); i++)
			if (cut(k, plus[i]))
				again = k->plus = 1;
		for (size_t i = 0; i < sizeof(only) / sizeof(only[0]); i++)
			if (cut(k, only[i]))
				again = k->only = 1;
		for (size_t i = 0; i < sizeof(word) / sizeof(word[0]); i++)
			if (cut(k, word[i]))
				again = 1;
		while (k->n && k->s[k->n - 1] == ' ')
			k->s[--k->n] = '\0', again = 1;
	}
	memcpy(k->raw, k->s, k->n + 1);
	version_suffix(k);
	return k->n > 0;
}

/* DEP-5's own short names (its "Short name" table): Artistic is Perl's,
 * the one in /usr/share/common-licenses. */
static const struct name dep5_names[] = {
	{ "ARTISTIC", "Artistic-1.0-Perl", 0 },
	{ "ARTISTIC-1.0", "Artistic-1.0-Perl", 0 },
};

static const struct name *dep5_find(const char *s)
{
	for (size_t i = 0; i < sizeof(dep5_names) / sizeof(dep5_names[0]); i++)
		if (!strcmp(dep5_names[i].key, s))
			return &dep5_names[i];
	return NULL;
}

static const struct name *name_find(const char *s)
{
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (!strcmp(names[i].key, s))
			return &names[i];
	return NULL;
}

/* The identifier a key names (*plus set when the name implies "or later"),
 * or NULL: a listed identifier, a name of the table, either of them with
 * ".0" added ("GPL-2" is GPL-2.0), or the same without a leading "GNU ". */
static const char *key_id(struct key *k, int *plus, int dialect)
{
	const char *id = license_id(k->raw, strlen(k->raw));
	if (id) {
		*plus = 0;
		return id;
	}
	for (int pass = 0; pass < 2; pass++) {
		const char *s = k->s;
		size_t n = k->n;
		if (pass == 1) {
			if (n <= 4 || memcmp(s, "GNU ", 4))
				break;
			s += 4;
			n -= 4;
		}
		char t[KEY_MAX + 8];
		memcpy(t, s, n);
		t[n] = '\0';
		for (int dot = 0; dot < 2; dot++) {
			if (dot) {
				size_t d = n;
				while (d && is_digit((unsigned char)t[d - 1]))
					d--;
				if (d == n || !d || t[d - 1] != '-')
					break;
				memcpy(t + n, ".0", 3);
			}
			id = license_id(t, strlen(t));
			if (id) {
				*plus = 0;
				return id;
			}
			const struct name *nm = name_find(t);
			if (!nm && dialect == LICENSE_DEP5)
				nm = dep5_find(t);
			if (nm) {
				*plus = nm->plus;
				return nm->id;
			}
		}
	}
	return NULL;
}

static int in_list(const char *id, const char *const *list, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(list[i], id))
			return 1;
	return 0;
}

/* Appends identifier id as SPDX writes it today: GNU licences with -only or
 * -or-later, others with '+' for "or later". */
static int emit_id(struct buf *out, const char *id, int plus, const char **exception)
{
	size_t n = strlen(id);
	for (size_t i = 0; i < sizeof(folded) / sizeof(folded[0]); i++)
		if (!strcmp(folded[i].id, id)) {
			id = folded[i].base;
			n = strlen(id);
			if (exception && !*exception)
				*exception = folded[i].exception;
		}
	if (n > 1 && id[n - 1] == '+') {
		/* "GPL-2.0+", deprecated, listed. */
		n--;
		plus = 1;
	}
	char base[64];
	if (n >= sizeof(base))
		return buf_adds(out, id);
	memcpy(base, id, n);
	base[n] = '\0';
	size_t bn = n;
	if (bn > 5 && !strcmp(base + bn - 5, "-only")) {
		base[bn - 5] = '\0';
	} else if (bn > 9 && !strcmp(base + bn - 9, "-or-later")) {
		base[bn - 9] = '\0';
		plus = 1;
	}
	if (in_list(base, gnu_ids, sizeof(gnu_ids) / sizeof(gnu_ids[0])))
		return buf_addf(out, "%s%s", base, plus ? "-or-later" : "-only");
	return buf_addf(out, "%s%s", id, plus ? "+" : "");
}

/* The exception of "X with Y exception": listed identifiers, and the usual
 * short names for the licence they attach to (gpl: 2 or 3). */
static const char *exception_id(const char *s, size_t len, int gpl)
{
	struct key k;
	if (!key_read(s, len, &k))
		return NULL;
	cut(&k, " EXCEPTION");
	cut(&k, "-EXCEPTION");
	static const struct {
		const char *key, *gpl2, *gpl3;
	} ex[] = {
		{ "AUTOCONF", "Autoconf-exception-2.0", "Autoconf-exception-3.0" },
		{ "BISON", "Bison-exception-2.2", "Bison-exception-2.2" },
		{ "CLASSPATH", "Classpath-exception-2.0", "Classpath-exception-2.0" },
		{ "FONT", "Font-exception-2.0", "Font-exception-2.0" },
		{ "GCC", "GCC-exception-2.0", "GCC-exception-3.1" },
		{ "LIBTOOL", "Libtool-exception", "Libtool-exception" },
		{ "LINUX-SYSCALL-NOTE", "Linux-syscall-note", "Linux-syscall-note" },
		{ "LLVM", "LLVM-exception", "LLVM-exception" },
		{ "TEXINFO", "Texinfo-exception", "Texinfo-exception" },
	};
	for (size_t i = 0; i < sizeof(ex) / sizeof(ex[0]); i++)
		if (!strcmp(k.s, ex[i].key))
			return gpl == 3 ? ex[i].gpl3 : ex[i].gpl2;
	/* A listed exception by its identifier ("GCC-exception-3.1"). */
	const char *id = license_id(s, len);
	if (id && (strstr(id, "exception") || strstr(id, "-note")))
		return id;
	return NULL;
}

static int name_simple(const char *s, size_t len, struct buf *out, int depth, int dialect);

/* "NAME (ALIAS)": the alias when the name does not map ("MIT License
 * (MIT)", trove classifiers' "(GPLv2+)"). */
static int name_alias(const char *s, size_t len, struct buf *out, int depth, int dialect)
{
	while (len && is_blank((unsigned char)s[len - 1]))
		len--;
	if (depth > 1 || !len || s[len - 1] != ')')
		return 0;
	const char *open = NULL;
	for (size_t i = len - 1; i-- > 0;)
		if (s[i] == '(') {
			open = s + i;
			break;
		}
	if (!open || open == s)
		return 0;
	int r = name_simple(s, (size_t)(open - s), out, depth + 1, dialect);
	if (r)
		return r;
	return name_simple(open + 1, (size_t)(s + len - 1 - open - 1), out, depth + 1, dialect);
}

/* One licence name, possibly "X with Y exception": 1 with its SPDX form
 * appended, 0 with nothing appended, -ENOMEM. */
static int name_simple(const char *s, size_t len, struct buf *out, int depth, int dialect)
{
	/* " with " splits off an exception ("GPL-2+ with OpenSSL exception"). */
	for (size_t i = 0; i + 6 <= len; i++) {
		if (strncasecmp(s + i, " with ", 6))
			continue;
		struct key k;
		int plus = 0;
		const char *id = key_read(s, i, &k) ? key_id(&k, &plus, dialect) : NULL;
		if (!id)
			return 0;
		int gpl = strstr(id, "-3") ? 3 : 2;
		const char *exc = exception_id(s + i + 6, len - i - 6, gpl);
		if (!exc)
			return 0;
		size_t mark = out->len;
		const char *folded_exc = NULL;
		int r = emit_id(out, id, plus || k.plus, &folded_exc);
		if (r == 0)
			r = buf_addf(out, " WITH %s", exc);
		if (r < 0) {
			buf_setlen(out, mark);
			return -ENOMEM;
		}
		return 1;
	}
	struct key k;
	int plus = 0;
	const char *id = key_read(s, len, &k) ? key_id(&k, &plus, dialect) : NULL;
	if (!id)
		return name_alias(s, len, out, depth, dialect);
	const char *exc = NULL;
	size_t mark = out->len;
	int r = emit_id(out, id, plus || k.plus, &exc);
	if (r == 0 && exc)
		r = buf_addf(out, " WITH %s", exc);
	if (r < 0) {
		buf_setlen(out, mark);
		return -ENOMEM;
	}
	return 1;
}

/* --- SPDX license expressions (SPDX 2.3 annex D) ------------------------- */

enum tok { T_END, T_OPEN, T_CLOSE, T_AND, T_OR, T_WITH, T_WORD };

struct expr {
	const char *p, *end; /* after the current token; the end of the input */
	enum tok tok;
	const char *word;    /* T_WORD: the word */
	size_t len;
	struct buf *out;
	unsigned depth, licenses, operators, parens, plus;
	int lenient;         /* words are names ("GPLv2+"), not only identifiers */
	int dialect;         /* lenient: enum license_dialect */
	int nomem;
};

static void next(struct expr *e)
{
	while (e->p < e->end && is_blank((unsigned char)*e->p))
		e->p++;
	e->word = e->p;
	if (e->p >= e->end) {
		e->tok = T_END;
		return;
	}
	if (*e->p == '(' || *e->p == ')') {
		e->tok = *e->p++ == '(' ? T_OPEN : T_CLOSE;
		return;
	}
	while (e->p < e->end && !is_blank((unsigned char)*e->p) && *e->p != '(' && *e->p != ')')
		e->p++;
	e->len = (size_t)(e->p - e->word);
	/* Operators are all-uppercase or all-lowercase, never mixed (annex D). */
	static const struct { const char *upper, *lower; enum tok t; } ops[] = {
		{ "AND", "and", T_AND }, { "OR", "or", T_OR }, { "WITH", "with", T_WITH },
	};
	e->tok = T_WORD;
	for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++)
		if (e->len == strlen(ops[i].upper) && (!memcmp(e->word, ops[i].upper, e->len) ||
						     !memcmp(e->word, ops[i].lower, e->len)))
			e->tok = ops[i].t;
}

static void emit(struct expr *e, const char *s)
{
	if (buf_adds(e->out, s) < 0)
		e->nomem = 1;
}

/* A listed identifier, with a '+' suffix when plus_ok ("GPL-2.0+" is itself
 * listed, a deprecated spelling; "Apache-2.0+" is Apache-2.0 or later). */
static int identifier(struct expr *e, int plus_ok)
{
	if (e->tok != T_WORD)
		return 0;
	if (e->lenient && plus_ok) {
		/* A comma is DEP-5's AND of lowest precedence: joined() reads it. */
		if (memchr(e->word, ',', e->len))
			return 0;
		int r = name_simple(e->word, e->len, e->out, 0, e->dialect);
		if (r < 0)
			e->nomem = 1;
		if (r <= 0)
			return 0;
		next(e);
		return 1;
	}
	const char *id = license_id(e->word, e->len);
	int plus = 0;
	if (!id && plus_ok && e->len > 1 && e->word[e->len - 1] == '+') {
		id = license_id(e->word, e->len - 1);
		plus = 1;
	}
	if (!id && e->lenient && !plus_ok)
		id = exception_id(e->word, e->len, 2);
	if (!id)
		return 0;
	emit(e, id);
	if (plus) {
		emit(e, "+");
		e->plus++;
	}
	next(e);
	return 1;
}

static int compound(struct expr *e);

static int term(struct expr *e)
{
	if (e->tok == T_OPEN) {
		if (++e->depth > 32)
			return 0;
		e->parens++;
		emit(e, "(");
		next(e);
		if (!compound(e) || e->tok != T_CLOSE)
			return 0;
		emit(e, ")");
		next(e);
		e->depth--;
		return 1;
	}
	if (!identifier(e, 1))
		return 0;
	e->licenses++;
	if (e->tok == T_WITH) {
		e->operators++;
		emit(e, " WITH ");
		next(e);
		return identifier(e, 0);
	}
	return 1;
}

static int compound(struct expr *e)
{
	if (!term(e))
		return 0;
	while (e->tok == T_AND || e->tok == T_OR) {
		e->operators++;
		emit(e, e->tok == T_AND ? " AND " : " OR ");
		next(e);
		if (!term(e))
			return 0;
	}
	return 1;
}

/* Parses s[0..len) into out; 1, 0 (not an expression; out as it was) or
 * -ENOMEM. */
static int parse(const char *s, size_t len, int lenient, int dialect, struct buf *out, struct expr *e)
{
	size_t mark = out->len;
	memset(e, 0, sizeof(*e));
	e->p = s;
	e->end = s + len;
	e->out = out;
	e->lenient = lenient;
	e->dialect = dialect;
	next(e);
	int ok = compound(e) && e->tok == T_END;
	if (e->nomem || !ok)
		buf_setlen(out, mark);
	return e->nomem ? -ENOMEM : ok;
}

int license_expression(const char *s, char **canon, int *single)
{
	struct buf out = BUF_INIT;
	struct expr e;
	*canon = NULL;
	*single = 0;
	int r = parse(s ? s : "", s ? strlen(s) : 0, 0, LICENSE_ANY, &out, &e);
	if (r <= 0) {
		buf_release(&out);
		return r;
	}
	*single = e.licenses == 1 && !e.operators && !e.parens && !e.plus;
	*canon = buf_detach(&out, NULL);
	return 1;
}

/* --- declarations ---------------------------------------------------------- */

/* Finds the next separator at or after *pos in s[0..len) among seps (each
 * matched without regard to case); returns its start and sets *seplen. */
static const char *find_sep(const char *s, size_t len, size_t from, const char *const *seps, size_t nseps,
			    size_t *seplen)
{
	for (size_t i = from; i < len; i++)
		for (size_t k = 0; k < nseps; k++) {
			size_t m = strlen(seps[k]);
			if (i + m <= len && !strncasecmp(s + i, seps[k], m)) {
				*seplen = m;
				return s + i;
			}
		}
	return NULL;
}

/* Names joined by words: DEP-5's "A or B, and C" ((A OR B) AND C), rpm's
 * "GPLv2+ and LGPLv2+", "MIT or Apache License 2.0". level 0 splits at
 * commas (AND), 1 at "or" (OR), 2 at "and" (AND), 3 is one name; an operand
 * that joins several names is put in parentheses. Returns 1 with the
 * expression appended, 0 with nothing appended, -ENOMEM. */
static int joined(const char *s, size_t len, int level, int dialect, struct buf *out)
{
	static const char *const commas[] = { ", and ", ", or ", ", " };
	static const char *const ors[] = { " or " };
	static const char *const ands[] = { " and " };
	static const struct { const char *const *v; size_t n; const char *op; } lv[] = {
		{ commas, 3, " AND " }, { ors, 1, " OR " }, { ands, 1, " AND " },
	};
	while (len && is_blank((unsigned char)*s))
		s++, len--;
	while (len && is_blank((unsigned char)s[len - 1]))
		len--;
	if (!len)
		return 0;
	if (level == 3)
		return name_simple(s, len, out, 0, dialect);
	size_t seplen = 0;
	const char *sep = find_sep(s, len, 0, lv[level].v, lv[level].n, &seplen);
	if (!sep)
		return joined(s, len, level + 1, dialect, out);
	size_t mark = out->len;
	struct buf one = BUF_INIT;
	const char *start = s, *end = s + len;
	int r = 1;
	for (int first = 1; r == 1; first = 0) {
		const char *stop = sep ? sep : end;
		buf_reset(&one);
		r = joined(start, (size_t)(stop - start), level + 1, dialect, &one);
		if (r != 1)
			break;
		int wrap = strstr(one.data, " AND ") || strstr(one.data, " OR ");
		if ((!first && buf_adds(out, lv[level].op) < 0) || (wrap && buf_addch(out, '(') < 0) ||
		    buf_add(out, one.data, one.len) < 0 || (wrap && buf_addch(out, ')') < 0)) {
			r = -ENOMEM;
			break;
		}
		if (!sep)
			break;
		start = sep + seplen;
		sep = find_sep(s, len, (size_t)(start - s), lv[level].v, lv[level].n, &seplen);
	}
	buf_release(&one);
	if (r != 1)
		buf_setlen(out, mark);
	return r;
}

static int has_prefix_ci(const char *s, size_t len, const char *p)
{
	size_t n = strlen(p);
	return len >= n && !strncasecmp(s, p, n);
}

int license_normalize_as(const char *s, size_t len, enum license_dialect dialect, struct buf *out)
{
	while (len && is_blank((unsigned char)*s))
		s++, len--;
	while (len && is_blank((unsigned char)s[len - 1]))
		len--;
	if (!len)
		return 0;
	size_t mark = out->len;
	int r;
	if (has_prefix_ci(s, len, "http://") || has_prefix_ci(s, len, "https://") ||
	    has_prefix_ci(s, len, "www.")) {
		r = license_from_url(s, len, out);
		if (r != 0)
			return r;
	} else if (len <= 4 * KEY_MAX) {
		struct expr e;
		if ((r = parse(s, len, 1, dialect, out, &e)) != 0)
			return r;
		if ((r = name_simple(s, len, out, 0, dialect)) != 0)
			return r;
		if ((r = joined(s, len, 0, dialect, out)) != 0)
			return r;
	}
	/* Not a licence we know by name: the text, white space made single. */
	buf_setlen(out, mark);
	for (size_t i = 0; i < len; i++) {
		int c = (unsigned char)s[i];
		if (is_blank(c) && (i + 1 == len || is_blank((unsigned char)s[i + 1])))
			continue;
		if (buf_addch(out, is_blank(c) ? ' ' : (char)c) < 0) {
			buf_setlen(out, mark);
			return -ENOMEM;
		}
	}
	return 0;
}

int license_normalize(const char *s, size_t len, struct buf *out)
{
	return license_normalize_as(s, len, LICENSE_ANY, out);
}

/* --- URLs and classifiers ------------------------------------------------ */

/* URL paths (scheme, "www.", a trailing '/' and document extension taken
 * off, host lower case) and the licence each is the text of. */
static const struct {
	const char *url, *id;
} urls[] = {
	{ "apache.org/licenses/LICENSE-1.0", "Apache-1.0" },
	{ "apache.org/licenses/LICENSE-1.1", "Apache-1.1" },
	{ "apache.org/licenses/LICENSE-2.0", "Apache-2.0" },
	{ "bouncycastle.org/licence", "MIT" },
	{ "boost.org/LICENSE_1_0", "BSL-1.0" },
	{ "creativecommons.org/publicdomain/zero/1.0", "CC0-1.0" },
	{ "eclipse.org/legal/epl-2.0", "EPL-2.0" },
	{ "eclipse.org/legal/epl-v10", "EPL-1.0" },
	{ "eclipse.org/legal/epl-v20", "EPL-2.0" },
	{ "eclipse.org/org/documents/edl-v10", "BSD-3-Clause" },
	{ "github.com/dotnet/corefx/blob/master/LICENSE", "MIT" },
	{ "github.com/dotnet/runtime/blob/main/LICENSE", "MIT" },
	{ "gnu.org/copyleft/gpl", "GPL-3.0-only" },
	{ "gnu.org/copyleft/lesser", "LGPL-3.0-only" },
	{ "gnu.org/licenses/agpl-3.0", "AGPL-3.0-only" },
	{ "gnu.org/licenses/fdl-1.3", "GFDL-1.3-only" },
	{ "gnu.org/licenses/gpl-2.0", "GPL-2.0-only" },
	{ "gnu.org/licenses/gpl-3.0", "GPL-3.0-only" },
	{ "gnu.org/licenses/lgpl-2.1", "LGPL-2.1-only" },
	{ "gnu.org/licenses/lgpl-3.0", "LGPL-3.0-only" },
	{ "gnu.org/licenses/old-licenses/gpl-2.0", "GPL-2.0-only" },
	{ "gnu.org/licenses/old-licenses/lgpl-2.0", "LGPL-2.0-only" },
	{ "gnu.org/licenses/old-licenses/lgpl-2.1", "LGPL-2.1-only" },
	{ "json.org/license", "JSON" },
	{ "mit-license.org", "MIT" },
	{ "mozilla.org/MPL/1.1", "MPL-1.1" },
	{ "mozilla.org/MPL/2.0", "MPL-2.0" },
	{ "mozilla.org/MPL/MPL-1.1", "MPL-1.1" },
	{ "unlicense.org", "Unlicense" },
};

int license_from_url(const char *s, size_t len, struct buf *out)
{
	char u[512];
	while (len && is_blank((unsigned char)*s))
		s++, len--;
	while (len && is_blank((unsigned char)s[len - 1]))
		len--;
	if (has_prefix_ci(s, len, "https://"))
		s += 8, len -= 8;
	else if (has_prefix_ci(s, len, "http://"))
		s += 7, len -= 7;
	if (has_prefix_ci(s, len, "www."))
		s += 4, len -= 4;
	if (!len || len >= sizeof(u))
		return 0;
	memcpy(u, s, len);
	u[len] = '\0';
	size_t host = strcspn(u, "/?#");
	for (size_t i = 0; i < host; i++)
		u[i] = (char)(u[i] >= 'A' && u[i] <= 'Z' ? u[i] - 'A' + 'a' : u[i]);
	if (len && u[len - 1] == '/')
		u[--len] = '\0';
	static const char *const exts[] = { ".txt", ".TXT", ".html", ".htm", ".php", ".md" };
	for (size_t i = 0; i < sizeof(exts) / sizeof(exts[0]); i++) {
		size_t m = strlen(exts[i]);
		if (len > m && !strcmp(u + len - m, exts[i])) {
			u[len -= m] = '\0';
			break;
		}
	}
	for (size_t i = 0; i < sizeof(urls) / sizeof(urls[0]); i++)
		if (!strcasecmp(u, urls[i].url))
			return buf_adds(out, urls[i].id) < 0 ? -ENOMEM : 1;
	/* Pages named by the licence: the last segment is its name. */
	static const char *const by_name[] = { "opensource.org/licenses/", "opensource.org/license/",
					       "spdx.org/licenses/", "licenses.nuget.org/" };
	for (size_t i = 0; i < sizeof(by_name) / sizeof(by_name[0]); i++) {
		size_t m = strlen(by_name[i]);
		if (len <= m || strncasecmp(u, by_name[i], m) || strchr(u + m, '/'))
			continue;
		/* licenses.nuget.org writes expressions with %20 and %28/%29. */
		char t[512];
		size_t tn = 0;
		for (const char *p = u + m; *p && tn + 1 < sizeof(t); p++) {
			int a = hex_digit_value((unsigned char)p[1]), b = a >= 0 ? hex_digit_value((unsigned char)p[2]) : -1;
			if (*p == '%' && a >= 0 && b >= 0) {
				t[tn++] = (char)(a * 16 + b);
				p += 2;
			} else {
				t[tn++] = *p;
			}
		}
		size_t mark = out->len;
		int r = i == 3 ? parse(t, tn, 1, LICENSE_ANY, out, &(struct expr){ 0 }) : name_simple(t, tn, out, 0, LICENSE_ANY);
		if (r == 0)
			buf_setlen(out, mark);
		return r;
	}
	return 0;
}

int license_from_classifier(const char *s, size_t len, struct buf *out)
{
	static const char prefix[] = "License ::";
	if (len < sizeof(prefix) - 1 || memcmp(s, prefix, sizeof(prefix) - 1))
		return 0;
	/* The last part names the licence; "License :: OSI Approved" alone
	 * names none. */
	const char *last = s + sizeof(prefix) - 1;
	for (const char *p = last; p + 2 <= s + len; p++)
		if (p[0] == ':' && p[1] == ':')
			last = p + 2;
	size_t n = (size_t)(s + len - last);
	while (n && is_blank((unsigned char)*last))
		last++, n--;
	while (n && is_blank((unsigned char)last[n - 1]))
		n--;
	if (!n || (n == 12 && !memcmp(last, "OSI Approved", 12)))
		return 0;
	size_t mark = out->len;
	int r = name_simple(last, n, out, 0, LICENSE_ANY);
	if (r != 0)
		return r;
	buf_setlen(out, mark);
	return buf_add(out, last, n) < 0 ? -ENOMEM : 0;
}

static int add_text(json_t *rec, const char *s, size_t len)
{
	if (!len)
		return 0;
	json_t *list = json_object_get(rec, "licenses");
	if (!json_is_array(list)) {
		list = json_array();
		if (!list || json_object_set_new(rec, "licenses", list) < 0)
			return -ENOMEM;
	}
	size_t i;
	json_t *v;
	json_array_foreach(list, i, v)
		if (json_string_length(v) == len && !memcmp(json_string_value(v), s, len))
			return 0;
	return json_array_append_new(list, record_string(s, len)) < 0 ? -ENOMEM : 0;
}

int license_add_raw(json_t *rec, const char *s, size_t len)
{
	while (len && is_blank((unsigned char)*s))
		s++, len--;
	while (len && is_blank((unsigned char)s[len - 1]))
		len--;
	return add_text(rec, s, len);
}

/* Adds s[0..len), normalized; when it does not map and joins names with
 * "and" only (no "or"), its names one by one. */
static int add_and_parts(json_t *rec, const char *s, size_t len, enum license_dialect dialect, struct buf *b)
{
	static const char *const ors[] = { " or ", "/or " };
	static const char *const ands[] = { " and " };
	size_t seplen;
	buf_reset(b);
	int r = license_normalize_as(s, len, dialect, b);
	if (r < 0)
		return r;
	if (r == 1 || find_sep(s, len, 0, ors, 2, &seplen) || !find_sep(s, len, 0, ands, 1, &seplen))
		return add_text(rec, b->data, b->len);
	for (const char *start = s, *end = s + len; start < end;) {
		const char *sep = find_sep(s, len, (size_t)(start - s), ands, 1, &seplen);
		const char *stop = sep ? sep : end;
		buf_reset(b);
		if (license_normalize_as(start, (size_t)(stop - start), dialect, b) < 0 ||
		    add_text(rec, b->data, b->len) < 0)
			return -ENOMEM;
		start = sep ? sep + seplen : end;
	}
	return 0;
}

/* A declaration that does not map as a whole: its parts joined by AND at
 * the top (DEP-5's commas: "GPL-1+ or Artistic, and BSD-4-clause-POWERDOG"),
 * each added as add_and_parts does, since a package's licences apply
 * together anyway ("MIT and Custom" gives MIT and "Custom"). 1 when it
 * was split, 0 when it has no such part, -ENOMEM. */
static int add_parts(json_t *rec, const char *s, size_t len, enum license_dialect dialect, struct buf *b)
{
	static const char *const commas[] = { ", and ", ", " };
	static const char *const ors[] = { " or ", "/or " };
	static const char *const ands[] = { " and " };
	size_t seplen;
	if (find_sep(s, len, 0, (const char *const[]){ ", or " }, 1, &seplen))
		return 0;
	if (!find_sep(s, len, 0, commas, 2, &seplen)) {
		/* No comma: names joined by "and" alone. */
		if (!find_sep(s, len, 0, ands, 1, &seplen) || find_sep(s, len, 0, ors, 2, &seplen))
			return 0;
		return add_and_parts(rec, s, len, dialect, b) < 0 ? -ENOMEM : 1;
	}
	for (const char *start = s, *end = s + len; start < end;) {
		const char *sep = find_sep(s, len, (size_t)(start - s), commas, 2, &seplen);
		const char *stop = sep ? sep : end;
		if (add_and_parts(rec, start, (size_t)(stop - start), dialect, b) < 0)
			return -ENOMEM;
		start = sep ? sep + seplen : end;
	}
	return 1;
}

int license_add_as(json_t *rec, const char *s, size_t len, enum license_dialect dialect)
{
	struct buf b = BUF_INIT;
	int r = license_normalize_as(s, len, dialect, &b), split = 0;
	if (r == 0 && len <= 4 * KEY_MAX) {
		struct buf part = BUF_INIT;
		split = r = add_parts(rec, s, len, dialect, &part);
		buf_release(&part);
	}
	if (r >= 0 && !split)
		r = add_text(rec, b.data, b.len);
	buf_release(&b);
	return r < 0 ? r : 0;
}

int license_add(json_t *rec, const char *s, size_t len)
{
	return license_add_as(rec, s, len, LICENSE_ANY);
}
