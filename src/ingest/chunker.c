/* chunker: FastCDC content-defined chunking (Xia et al., USENIX ATC 2016)
 * with normalised chunking: a gear hash over each chunk's own bytes, no
 * boundary in the first min bytes, a harder mask before avg and an easier
 * one after it, and a forced cut at max. */
#include "config.h"

#include <assert.h>

#include "chunker.h"

/* The gear table is part of the store format: chunk boundaries, and so
 * dedup across stores and versions, depend on every entry. Never change it.
 * It is the splitmix64 sequence from the seed 0x7374726174613031 ("strata01"):
 *   s += 0x9e3779b97f4a7c15; z = s;
 *   z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9;
 *   z = (z ^ (z >> 27)) * 0x94d049bb133111eb;
 *   gear[i] = z ^ (z >> 31);
 * tests/unit/test-chunker.c pins the boundaries it gives. */
static const uint64_t gear[256] = {
	0x7b913cd9dd499975, 0xfb2b1fb103b26f3c, 0xb7a41b62b52d9407,
	0x27ccd003323ffc3c, 0x2b49c9ab6e50a153, 0x1fcb19f2bd3d2c23,
	0xbf7ac441ed0e482a, 0x0d83685041d0d9ac, 0xf63d143b2ec50229,
	0xdccfa7d702079db7, 0xdf30c9ab94f9674b, 0xa5ce57081b58307f,
	0xd5f7ea6f3e94f399, 0x54d282d242161060, 0x6248f94e20aa70b3,
	0xd476d59224312cb5, 0x844b57495df82e1e, 0xda128eeaabf6ba5e,
	0x8c365fefa21b056b, 0xf5ad853be40dea72, 0xf229b239ba9bc64f,
	0xb6c8eb6b9d632cca, 0x9ea901065aacd123, 0x1e72a5d5dec6d5b2,
	0xb0bbe9c29cf879b6, 0x3246d80da824e439, 0xba817386cc4a49b8,
	0x651d577828ab53ed, 0x87fde6f5bfde2133, 0x6e952ed7c904d4ee,
	0xb9657b37960e80d0, 0x50b82da9e722f90d, 0xd3ead875c251b958,
	0xa65ea6918a66a06c, 0x147a90aaefa13017, 0x80c7c9fcdfeacb82,
	0x6cf62dfcd2f2a4c6, 0xf2156d3b1fca43dd, 0x77dc7af6a155222c,
	0x2872d433782d4c04, 0x16057269db2ab3d7, 0x69ffe6db69917b91,
	0x100f4d9d31b53f76, 0xabf550ac5f34bf89, 0x5c7b92222a98ea76,
	0xdd823eacfff89c43, 0xfaafc3bf3c04ac76, 0x292b4fbc10dfb82f,
	0x6e4a7431dae2b833, 0x129b7ba903eb8cc5, 0x3e7cc8b5c2d544dc,
	0x342d5a72f2468609, 0x249a6a8b1b4de6fc, 0xc7bc449f757bcc8e,
	0x755429d186bed27d, 0x51cb08d7bcc13236, 0x18088fb848251f83,
	0x5c65833e199d7eeb, 0x212b726712de6dea, 0x13f9c65f328f9782,
	0x722263b1670eb03e, 0xb0cf94d26f7ee6bf, 0xfa49d2c3cca9b02e,
	0x883d39bf71905386, 0x5270ee359d10437c, 0xa609e4f7582923ba,
	0x9cb2b88cfe1f9aa5, 0x60d16c3e41e215e3, 0xa3233779b21ac3be,
	0x11ca6d65e97707fd, 0xd22cc907f3c3b802, 0x6417b64ea7667471,
	0x88e8ea4cf577b88a, 0x44af4bdf95a8cc1b, 0x023b42b357fb42b9,
	0x8fa38c8be5a9b8df, 0x7319b63d249fe481, 0xd4b294f0dae17c68,
	0xa6b74717dbe329cc, 0xad910d688b4d39aa, 0xd1c3799c55e817da,
	0xee89afc4afb69d88, 0xb0c0e1cfeb0913b5, 0x3510f0633125190f,
	0x767eeef3e47d3978, 0xb9e81239738104a1, 0xa69a5200d6c7f8e6,
	0x9e884772f14333ea, 0x7d5268809157d289, 0xdc46d9bcbe0d7b85,
	0x6bcc6f0bc4f85bde, 0xc5087bd5063c3920, 0x9896f957a052f412,
	0x52498f4beee1f4b4, 0xcbad44bdb9195bb7, 0xad022dff34c713a9,
	0x83c59cc86fef1f96, 0x2783372105ea6a1b, 0x25650e8844446686,
	0x2ff603520e875a48, 0x2be251382fb27daa, 0x22d1f6866b60ec4b,
	0xc3441389b1ee28f9, 0x5a9d4f586a6a8b37, 0x8167b9950e3b7342,
	0xc705cd5ee51f35e8, 0x92c474dbbdbd6c84, 0xce17e12892d4dc56,
	0xe879dbe389f455b0, 0x4420a53890010a99, 0x542c7735ad88f02c,
	0x36051057314613f5, 0x121c18648799d420, 0xbca5c1ee5efe1828,
	0x7182d899e20c892c, 0xba91c115ae9e2fc5, 0x5a96300055574f2c,
	0x2ad9f07066c3706f, 0x7071b75fb79c5738, 0x067ada2cacffbf21,
	0x2763b4a80c6f0d0e, 0x7ddb4610a7b59abe, 0x910cacb9f0af4d93,
	0x1c59a97b289d2157, 0x62ddbfea72c6aea8, 0x360bfa57e6fe6ddc,
	0x5255c7717cfc354a, 0x4573ecc6b8e0841e, 0xb3f6d81c76272e25,
	0xe0fdce4cb1e380dd, 0x7ed4d69e147f6c3d, 0xeea1c0de21ff4e65,
	0x588d955b2059a3a9, 0x904067a90e5c6909, 0x2ad05dabe0b53ae6,
	0x7a75135630e6edda, 0x95ead606f27de7ad, 0x319240130c94fca3,
	0xffdeea4d9038b1ba, 0xe6d5d7f02cc04c46, 0x3ffbd90151508b6a,
	0x2456aff57306e827, 0x6aea55de31f68458, 0xe949feb599ad7f23,
	0xb28885d5064d1578, 0x4d4e397dd1f36974, 0x100adf96f942657a,
	0xdc20da75fc9b09f7, 0x9029be1ca7d3b462, 0xb4e5fa5c4cfcebcc,
	0xbc8eb1b5f4b21fb5, 0x90e82ab6ccedc7f8, 0xc9ee01c04a1f25ef,
	0xb8e093fa05c1691c, 0x95d7b501342e0de4, 0xfd7bd2552af56aac,
	0x7265aaaac3d05138, 0x98d2a7499ad9b09a, 0xc427591085f53cf1,
	0x4c9a86f59897749b, 0xed406414666032ab, 0x8b26117e0ae58465,
	0x45a7aedf7cfccfc1, 0x39afc671d10676c3, 0xa4c6e7562f5e5417,
	0x458f1e6a2f480cc1, 0xe765fd0aefaca70d, 0x4c8b9fcbda2f151a,
	0x4112520cb1ad408e, 0xce85b2aef4f75e80, 0x5b45a1b4982e142c,
	0x7bc73c9aeed51904, 0x0b201d6613cea4af, 0x1fa07f36a2614f84,
	0x3dd3565d8c22cdd7, 0x911c07d1a026759b, 0xb19323ffa3e1ec47,
	0xdcc6c98cb6ea9dc2, 0xa10122f8a483a77b, 0xbf34863c8ad8b263,
	0x2b84e10c4192fda1, 0xf02acec383bdac87, 0x53da0cf01187c2c6,
	0x17e321572948400d, 0x2581b025f3f45e91, 0x0ed75e1e66000b40,
	0x53653c1a3353133c, 0x98240b36dd7654de, 0x54e36a4fc9726f34,
	0xeae82491f57ddafd, 0xc56716d3564f4174, 0x6866119701101545,
	0xaa48b9ac184e29e9, 0xd490c96b6ca9a69c, 0xa922d1a21d76767f,
	0xf2107ffa7565bc3d, 0x8e8cd12ca90941d8, 0x7aa6d5f6cbe4a88d,
	0x31a434adf62eb85c, 0xef2c2e6b7a586cca, 0xd3b6764464c61520,
	0x991ead4b89cec263, 0xc895131119727755, 0x2dee28af1e29cc5f,
	0x08f63cd209491ab5, 0xec5a01452201ba4f, 0xfc0f3420f7715837,
	0x0d59de2c616f0134, 0xd0ad9ba0812256b2, 0x3131c14e3f9fd97d,
	0xb6afe7f3e949a098, 0x9d1633d916bb2749, 0xa2d8fd0445008604,
	0xfefdbc25e27d2fec, 0xc0fedc2283e7f0ea, 0x4063a07d9daeacf7,
	0x66f613c9f803dd8e, 0x0a3277f21ec88afb, 0x53dec54fa45a4aae,
	0xd1207130151ca38c, 0xc33771a8bbcc834c, 0x34b536d154d89574,
	0x39e6c8c3f595b373, 0x9150a9700465b6ed, 0x167bac3c55f6aee2,
	0xc309942fcb1d112d, 0xce78dae208e5b0e3, 0x3c97931eaec57eab,
	0x0c970cfc2c86f750, 0xee65c078d595b1b0, 0x26375c6e50b20477,
	0x11e4f17f9db8d02f, 0x85957bc263e5b1f1, 0xc3d1e4b2d0c222fa,
	0x7772b204374238d2, 0x3a590b066ebf74ed, 0x559f948f8dbd6dc9,
	0x615e3f70759b9e5b, 0xf516906d6e07014b, 0xfe91e69d4dc7f065,
	0x0184838f5caf94ce, 0x427a9c59b53438de, 0x78c65c21c3279b43,
	0x94411b3c682535ac, 0x17e10a609f42680d, 0x7d0a017b674d9dfb,
	0x04c3a8115f601d5d, 0x9969c2874cea2c48, 0xa7ed9a48e4827012,
	0x8f4abfb219e6b7dd, 0x8d91c8d668fbe097, 0x7b51280c662a3232,
	0xee0034d2b499d1d4, 0x3da85381d7ee7502, 0x490cb460daf62db9,
	0x0d21feed2579a58e,
};

/* Ones in the top bits: bit k of the gear hash depends on the last k + 1
 * bytes, so the top bits see the widest window. */
static uint64_t top_mask(int bits)
{
	if (bits < 1)
		bits = 1;
	if (bits > 63)
		bits = 63;
	return ~0ull << (64 - bits);
}

void chunker_init(struct chunker *c, uint32_t min, uint32_t avg, uint32_t max)
{
	int bits = 0;

	assert(min <= avg && avg <= max && max > 0);
	assert(avg && !(avg & (avg - 1)));
	while ((1u << bits) < avg)
		bits++;
	c->min = min;
	c->avg = avg;
	c->max = max;
	/* normalisation level 2, as in the paper */
	c->mask_s = top_mask(bits + 2);
	c->mask_l = top_mask(bits - 2);
	chunker_reset(c);
}

void chunker_reset(struct chunker *c)
{
	c->hash = 0;
	c->pos = 0;
}

size_t chunker_scan(struct chunker *c, const uint8_t *data, size_t len, int *cut)
{
	size_t p = c->pos; /* bytes of the chunk before data[0] */
	size_t i = 0, end;
	uint64_t h = c->hash;

	*cut = 0;
	if (p < c->min)
		i = c->min - p < len ? c->min - p : len;
	if (p + i < c->avg) {
		const uint64_t m = c->mask_s;
		end = c->avg - p < len ? c->avg - p : len;
		for (; i < end; i++) {
			h = (h << 1) + gear[data[i]];
			if (!(h & m)) {
				i++;
				goto cut;
			}
		}
	}
	if (p + i < c->max) {
		const uint64_t m = c->mask_l;
		end = c->max - p < len ? c->max - p : len;
		for (; i < end; i++) {
			h = (h << 1) + gear[data[i]];
			if (!(h & m)) {
				i++;
				goto cut;
			}
		}
	}
	if (p + i >= c->max)
		goto cut;
	c->pos = p + i;
	c->hash = h;
	return i;
cut:
	chunker_reset(c);
	*cut = 1;
	return i;
}
