/* report-spdx: the SPDX 2.3 JSON writer, and the helpers the writers share:
 * the SPDX license list and expression reader, name-based UUIDs.
 *
 * The document: a root package for the image (or directory) that the
 * document DESCRIBES and that CONTAINS one package per report package (purl
 * as a PACKAGE-MANAGER external reference) and one file per regular file of
 * the files section (SHA1, SHA256 and MD5 checksums). Licenses that are SPDX
 * expressions of listed identifiers are declared as such; any other license
 * text becomes a LicenseRef- with the text in hasExtractedLicensingInfos. */
#include "config.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "src/base/buf.h"
#include "src/base/digest.h"
#include "report.h"

/* SPDX license and exception identifiers, sorted without regard to case:
 * the enum of spdx.schema.json (license list 3.28) that CycloneDX 1.5
 * validates license ids against (tests/data/schemas/spdx.schema.json;
 * test-report checks that every one of them is found here). */
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
#define LICENSE_LIST_VERSION "3.28"

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

const char *report_license_id(const char *s, size_t len)
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

/* --- SPDX license expressions (SPDX 2.3 annex D) ------------------------- */

enum tok { T_END, T_OPEN, T_CLOSE, T_AND, T_OR, T_WITH, T_WORD };

struct expr {
	const char *p;       /* after the current token */
	enum tok tok;
	const char *word;    /* T_WORD: the word */
	size_t len;
	struct buf *out;
	unsigned depth, licenses, operators, parens, plus;
	int nomem;
};

static int is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static void next(struct expr *e)
{
	while (is_space(*e->p))
		e->p++;
	e->word = e->p;
	if (!*e->p) {
		e->tok = T_END;
		return;
	}
	if (*e->p == '(' || *e->p == ')') {
		e->tok = *e->p++ == '(' ? T_OPEN : T_CLOSE;
		return;
	}
	while (*e->p && !is_space(*e->p) && *e->p != '(' && *e->p != ')')
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
	const char *id = report_license_id(e->word, e->len);
	int plus = 0;
	if (!id && plus_ok && e->len > 1 && e->word[e->len - 1] == '+') {
		id = report_license_id(e->word, e->len - 1);
		plus = 1;
	}
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

int report_license_expression(const char *s, char **canon, int *single)
{
	struct buf out = BUF_INIT;
	struct expr e = { .p = s ? s : "", .out = &out };
	*canon = NULL;
	*single = 0;
	next(&e);
	int ok = compound(&e) && e.tok == T_END;
	if (e.nomem) {
		buf_release(&out);
		return -ENOMEM;
	}
	if (!ok) {
		buf_release(&out);
		return 0;
	}
	*single = e.licenses == 1 && !e.operators && !e.parens && !e.plus;
	*canon = buf_detach(&out, NULL);
	return 1;
}

/* --- small helpers --------------------------------------------------------- */

void report_uuid(const char *name, char out[37])
{
	/* RFC 4122 section 4.3 with the URL namespace. */
	static const uint8_t ns[16] = { 0x6b, 0xa7, 0xb8, 0x11, 0x9d, 0xad, 0x11, 0xd1,
					0x80, 0xb4, 0x00, 0xc0, 0x4f, 0xd4, 0x30, 0xc8 };
	uint8_t s256[SHA256_LEN], s1[SHA1_LEN] = { 0 }, m5[MD5_LEN];
	struct filehash *h = filehash_new();
	if (h) {
		filehash_update(h, ns, sizeof(ns));
		filehash_update(h, name, strlen(name));
		filehash_final(h, s256, s1, m5);
		filehash_free(h);
	}
	s1[6] = (uint8_t)((s1[6] & 0x0f) | 0x50);
	s1[8] = (uint8_t)((s1[8] & 0x3f) | 0x80);
	char hex[33];
	hex_encode(s1, 16, hex);
	snprintf(out, 37, "%.8s-%.4s-%.4s-%.4s-%.12s", hex, hex + 8, hex + 12, hex + 16, hex + 20);
}

static int digits(const char *s, size_t n, int lo, int hi)
{
	int v = 0;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return 0;
		v = v * 10 + (s[i] - '0');
	}
	return v >= lo && v <= hi;
}

void report_created(const json_t *report, char out[32])
{
	const char *s = json_string_value(json_object_get(report, "created"));
	/* YYYY-MM-DDTHH:MM:SS, an optional fraction (dropped), then Z. */
	if (s && strlen(s) >= 20 && digits(s, 4, 0, 9999) && s[4] == '-' && digits(s + 5, 2, 1, 12) &&
	    s[7] == '-' && digits(s + 8, 2, 1, 31) && s[10] == 'T' && digits(s + 11, 2, 0, 23) &&
	    s[13] == ':' && digits(s + 14, 2, 0, 59) && s[16] == ':' && digits(s + 17, 2, 0, 60)) {
		const char *t = s + 19;
		if (*t == '.')
			for (t++; *t >= '0' && *t <= '9'; t++)
				;
		if (t[0] == 'Z' && !t[1]) {
			snprintf(out, 32, "%.19sZ", s);
			return;
		}
	}
	snprintf(out, 32, "1970-01-01T00:00:00Z");
}

char *report_package_purl(const json_t *report, const json_t *pkg)
{
	const char *p = json_string_value(json_object_get(pkg, "purl"));
	if (p && *p)
		return strdup(p);
	return purl_build(pkg, json_object_get(report, "distro"));
}

/* --- the SPDX document ------------------------------------------------------- */

static const char *str(const json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));
	return s && *s ? s : NULL;
}

/* Appends the first max bytes of s with '+' as "plus" and every other byte
 * outside [A-Za-z0-9.-] as '-': what SPDX ids and LicenseRef- ids may hold. */
static int add_idstring(struct buf *b, const char *s, size_t max)
{
	for (size_t i = 0; s[i] && i < max; i++) {
		char c = s[i];
		int okc = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
			  c == '.' || c == '-';
		int r = c == '+' ? buf_adds(b, "plus") : buf_addch(b, okc ? c : '-');
		if (r < 0)
			return -ENOMEM;
	}
	return 0;
}

static int is_hex(const char *s, size_t len)
{
	if (!s || strlen(s) != len)
		return 0;
	for (size_t i = 0; i < len; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f') || (s[i] >= 'A' && s[i] <= 'F')))
			return 0;
	return 1;
}

/* A file of the files section that becomes an SPDX file: regular, with a
 * well-formed SHA1 (the checksum SPDX requires). */
static int spdx_file(const json_t *f)
{
	const char *type = str(f, "type");
	return type && !strcmp(type, "file") && str(f, "path") && is_hex(str(f, "sha1"), 40);
}

static int cmp_sha1(const void *a, const void *b)
{
	return memcmp(a, b, 40);
}

/* The package verification code (SPDX 2.3 clause 7.9): the SHA1 of the
 * sorted, concatenated SHA1s of the package's files, lowercase. out: 41
 * bytes. 1 when there is an SPDX file (and out is set), 0 when none. */
static int verification_code(const struct report_files *files, char out[41])
{
	size_t n = 0, alloc = 0;
	char (*v)[40] = NULL;
	int r = 0;
	for (size_t i = 0; i < files->n; i++) {
		json_t *f = files->record(files->ctx, i);
		if (!f) {
			r = -ENOMEM;
			break;
		}
		if (spdx_file(f)) {
			if (n == alloc) {
				size_t na = alloc ? alloc * 2 : 1024;
				char (*nv)[40] = realloc(v, na * sizeof(*v));
				if (!nv) {
					json_decref(f);
					r = -ENOMEM;
					break;
				}
				v = nv;
				alloc = na;
			}
			const char *s = str(f, "sha1");
			for (int k = 0; k < 40; k++)
				v[n][k] = (s[k] >= 'A' && s[k] <= 'F') ? (char)(s[k] + 32) : s[k];
			n++;
		}
		json_decref(f);
	}
	struct filehash *h = r == 0 && n ? filehash_new() : NULL;
	if (r == 0 && n && !h)
		r = -ENOMEM;
	if (h) {
		qsort(v, n, sizeof(*v), cmp_sha1);
		for (size_t i = 0; i < n; i++)
			filehash_update(h, v[i], 40);
		uint8_t s256[SHA256_LEN], s1[SHA1_LEN], m5[MD5_LEN];
		filehash_final(h, s256, s1, m5);
		filehash_free(h);
		hex_encode(s1, SHA1_LEN, out);
		r = 1;
	}
	free(v);
	return r;
}

struct licenses {
	json_t *by_text; /* license text -> LicenseRef id */
	json_t *taken;   /* LicenseRef ids in use */
	json_t *next;    /* LicenseRef id prefix -> next number to try */
	json_t *infos;   /* hasExtractedLicensingInfos */
};

/* licenseDeclared for a package's license text: the canonical expression,
 * else a LicenseRef- declared in hasExtractedLicensingInfos. malloc'd. */
static char *declared(struct licenses *l, const char *text)
{
	char *canon;
	int single;
	if (!text)
		return strdup("NOASSERTION");
	if (!strcmp(text, "NONE") || !strcmp(text, "NOASSERTION"))
		return strdup(text);
	int r = report_license_expression(text, &canon, &single);
	if (r < 0)
		return NULL;
	if (r > 0)
		return canon;
	const char *known = json_string_value(json_object_get(l->by_text, text));
	if (known)
		return strdup(known);
	struct buf id = BUF_INIT;
	if (buf_adds(&id, "LicenseRef-") < 0 || add_idstring(&id, text, 64) < 0)
		goto fail;
	/* Texts that share their first 64 bytes get -2, -3...: the next number
	 * to try is kept per prefix so that many of them stay linear. */
	size_t base = id.len;
	json_t *next = json_object_get(l->next, id.data);
	json_int_t k = next ? json_integer_value(next) : 2;
	char *prefix = NULL;
	if (json_object_get(l->taken, id.data)) {
		prefix = strdup(id.data);
		if (!prefix)
			goto fail;
		do {
			buf_setlen(&id, base);
			if (buf_addf(&id, "-%lld", (long long)k++) < 0) {
				free(prefix);
				goto fail;
			}
		} while (json_object_get(l->taken, id.data));
		json_object_set_new(l->next, prefix, json_integer(k));
		free(prefix);
	}
	json_object_set_new(l->taken, id.data, json_true());
	json_object_set_new(l->by_text, text, json_string(id.data));
	json_array_append_new(l->infos, json_pack("{s:s, s:s, s:s}", "licenseId", id.data,
						  "extractedText", text, "name", text));
	return buf_detach(&id, NULL);
fail:
	buf_release(&id);
	return NULL;
}

static json_t *purl_ref(const char *purl)
{
	return json_pack("[{s:s, s:s, s:s}]", "referenceCategory", "PACKAGE-MANAGER", "referenceType",
			 "purl", "referenceLocator", purl);
}

static json_t *root_package(const json_t *report, const char *root_id, const char *name,
			    const struct report_files *files, int *with_files)
{
	const json_t *image = json_object_get(report, "image");
	const char *digest = str(image, "digest");
	json_t *p = json_pack("{s:s, s:s}", "SPDXID", root_id, "name", name);
	if (!p)
		return NULL;
	if (digest)
		json_object_set_new(p, "versionInfo", json_string(digest));
	json_object_set_new(p, "downloadLocation", json_string("NOASSERTION"));
	char code[41];
	int r = verification_code(files, code);
	if (r < 0) {
		json_decref(p);
		return NULL;
	}
	/* A package with filesAnalyzed false must contain no files (clause 7.8). */
	*with_files = r == 1;
	if (*with_files) {
		json_object_set_new(p, "filesAnalyzed", json_true());
		json_object_set_new(p, "packageVerificationCode",
				    json_pack("{s:s}", "packageVerificationCodeValue", code));
	} else {
		json_object_set_new(p, "filesAnalyzed", json_false());
	}
	json_object_set_new(p, "licenseConcluded", json_string("NOASSERTION"));
	json_object_set_new(p, "licenseDeclared", json_string("NOASSERTION"));
	json_object_set_new(p, "copyrightText", json_string("NOASSERTION"));
	if (str(image, "path")) {
		json_object_set_new(p, "primaryPackagePurpose", json_string("OTHER"));
		json_object_set_new(p, "comment", json_sprintf("root file system in directory %s",
							       str(image, "path")));
	} else {
		json_object_set_new(p, "primaryPackagePurpose", json_string("CONTAINER"));
		char *purl = purl_oci(str(image, "ref"), digest);
		if (purl)
			json_object_set_new(p, "externalRefs", purl_ref(purl));
		free(purl);
	}
	return p;
}

static json_t *package(const json_t *report, const json_t *pkg, const char *id,
		       struct licenses *l)
{
	const char *version = str(pkg, "version"), *path = str(pkg, "path"), *layer = str(pkg, "layer");
	char *lic = declared(l, str(pkg, "license"));
	char *purl = report_package_purl(report, pkg);
	json_t *p = json_pack("{s:s, s:s}", "SPDXID", id, "name", str(pkg, "name") ? str(pkg, "name") : "");
	if (!p || !lic)
		goto out;
	if (version)
		json_object_set_new(p, "versionInfo", json_string(version));
	json_object_set_new(p, "downloadLocation", json_string("NOASSERTION"));
	json_object_set_new(p, "filesAnalyzed", json_false());
	json_object_set_new(p, "licenseConcluded", json_string("NOASSERTION"));
	json_object_set_new(p, "licenseDeclared", json_string(lic));
	json_object_set_new(p, "copyrightText", json_string("NOASSERTION"));
	if (purl)
		json_object_set_new(p, "externalRefs", purl_ref(purl));
	if (path)
		json_object_set_new(p, "sourceInfo", layer ? json_sprintf("found in %s (layer %s)", path, layer)
							   : json_sprintf("found in %s", path));
	const char *type = str(pkg, "type");
	if (type)
		json_object_set_new(p, "comment", json_sprintf("strata package type: %s", type));
	free(lic);
	free(purl);
	return p;
out:
	json_decref(p);
	free(lic);
	free(purl);
	return NULL;
}

static json_t *file(const json_t *f, size_t k)
{
	const char *path = str(f, "path"), *layer = str(f, "layer");
	json_t *sums = json_pack("[{s:s, s:s}]", "algorithm", "SHA1", "checksumValue", str(f, "sha1"));
	if (is_hex(str(f, "sha256"), 64))
		json_array_append_new(sums, json_pack("{s:s, s:s}", "algorithm", "SHA256", "checksumValue",
						      str(f, "sha256")));
	if (is_hex(str(f, "md5"), 32))
		json_array_append_new(sums, json_pack("{s:s, s:s}", "algorithm", "MD5", "checksumValue",
						      str(f, "md5")));
	char id[48];
	snprintf(id, sizeof(id), "SPDXRef-File-%zu", k);
	/* SPDX file names are relative to the package root: "./etc/passwd". */
	json_t *o = json_pack("{s:s, s:s++, s:o}", "SPDXID", id, "fileName", ".",
			      path[0] == '/' ? "" : "/", path, "checksums", sums);
	if (!o)
		return NULL;
	if (layer)
		json_object_set_new(o, "comment", json_sprintf("layer %s", layer));
	return o;
}

static json_t *relationship(const char *from, const char *type, const char *to)
{
	return json_pack("{s:s, s:s, s:s}", "spdxElementId", from, "relationshipType", type,
			 "relatedSpdxElement", to);
}

/* "SPDXRef-Package-<type>-<name>-<index>": the index alone keeps it unique,
 * since it follows the last '-'. malloc'd. */
static char *package_id(const json_t *pkg, size_t index)
{
	struct buf b = BUF_INIT;
	if (buf_adds(&b, "SPDXRef-Package-") < 0 || add_idstring(&b, str(pkg, "type") ? str(pkg, "type") : "x", 16) < 0 ||
	    buf_addch(&b, '-') < 0 || add_idstring(&b, str(pkg, "name") ? str(pkg, "name") : "", 64) < 0 ||
	    buf_addf(&b, "-%zu", index) < 0) {
		buf_release(&b);
		return NULL;
	}
	return buf_detach(&b, NULL);
}

int report_write_spdx(const json_t *report, const struct report_files *files, FILE *out,
		      struct strata_error *err)
{
	if (!json_is_object(report))
		return error_set(err, -EINVAL, "cannot write spdx-json: the report is not a JSON object");
	const json_t *image = json_object_get(report, "image"), *tool = json_object_get(report, "tool");
	const json_t *packages = json_object_get(report, "packages");
	struct report_files own;
	if (!files) {
		report_files_of(report, &own);
		files = &own;
	}
	const char *digest = str(image, "digest"), *dir = str(image, "path");
	const char *name = str(image, "ref") ? str(image, "ref") : digest ? digest : dir ? dir : "unknown";
	const char *root_id = dir ? "SPDXRef-Directory" : "SPDXRef-Image";
	char created[32], uuid[37];
	report_created(report, created);

	/* Unique per image and run, stable for the same report. */
	struct buf ns = BUF_INIT, key = BUF_INIT;
	buf_adds(&ns, "https://strata.invalid/spdx/");
	add_idstring(&ns, digest ? digest : dir ? "directory" : "unknown", 80);
	buf_addf(&key, "strata-spdx:%s:%s:%s", digest ? digest : "", dir ? dir : "", created);
	report_uuid(key.data, uuid);
	buf_addf(&ns, "/%s", uuid);

	struct licenses l = { json_object(), json_object(), json_object(), json_array() };
	struct report_json j;
	int with_files = 0;
	size_t npkg = json_array_size(packages), i;
	char **ids = calloc(npkg ? npkg : 1, sizeof(*ids));
	int r = -ENOMEM;
	if (!ids || !l.by_text || !l.taken || !l.next || !l.infos || !ns.len || !key.len)
		goto out;

	report_json_begin(&j, out);
	report_json_member(&j, "spdxVersion", json_string("SPDX-2.3"));
	report_json_member(&j, "dataLicense", json_string("CC0-1.0"));
	report_json_member(&j, "SPDXID", json_string("SPDXRef-DOCUMENT"));
	report_json_member(&j, "name", json_string(name));
	report_json_member(&j, "documentNamespace", json_string(ns.data));
	const char *tv = str(tool, "version");
	report_json_member(&j, "creationInfo",
			   json_pack("{s:s, s:[s+], s:s}", "created", created, "creators", "Tool: strata-",
				     tv ? tv : PACKAGE_VERSION, "licenseListVersion", LICENSE_LIST_VERSION));

	report_json_array(&j, "packages");
	report_json_item(&j, root_package(report, root_id, name, files, &with_files));
	const json_t *pkg;
	json_array_foreach(packages, i, pkg) {
		ids[i] = package_id(pkg, i);
		report_json_item(&j, ids[i] ? package(report, pkg, ids[i], &l) : NULL);
	}
	report_json_array_end(&j);

	size_t k = 0;
	const json_t *f;
	if (with_files) {
		report_json_array(&j, "files");
		for (i = 0; i < files->n && !report_json_failed(&j); i++) {
			json_t *rec = files->record(files->ctx, i);
			if (!rec || spdx_file(rec))
				report_json_item(&j, rec ? file(rec, k++) : NULL);
			json_decref(rec);
		}
		report_json_array_end(&j);
	}

	report_json_array(&j, "relationships");
	report_json_item(&j, relationship("SPDXRef-DOCUMENT", "DESCRIBES", root_id));
	for (i = 0; i < npkg; i++)
		if (ids[i])
			report_json_item(&j, relationship(root_id, "CONTAINS", ids[i]));
	for (size_t n = 0; n < k; n++) {
		char fid[48];
		snprintf(fid, sizeof(fid), "SPDXRef-File-%zu", n);
		report_json_item(&j, relationship(root_id, "CONTAINS", fid));
	}
	report_json_array_end(&j);

	if (json_array_size(l.infos)) {
		report_json_array(&j, "hasExtractedLicensingInfos");
		json_array_foreach(l.infos, i, f)
			report_json_item(&j, json_incref((json_t *)f));
		report_json_array_end(&j);
	}
	r = report_json_end(&j, err);
out:
	if (r == -ENOMEM)
		error_set(err, r, "cannot write spdx-json: out of memory");
	for (i = 0; ids && i < npkg; i++)
		free(ids[i]);
	free(ids);
	json_decref(l.by_text);
	json_decref(l.taken);
	json_decref(l.next);
	json_decref(l.infos);
	buf_release(&ns);
	buf_release(&key);
	return r;
}
