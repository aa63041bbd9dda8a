"""Pavement templates, materials and unit prices stored as data (editable in
the admin). Every value carries its source, or says it is an engineering
estimate (`source = "estimate"`), as in ../shared/DOMAIN.md §2.

Quantities (estimates/quantities.py): volume = area × thickness (compacted),
mass = volume × density, mass with loss = mass × loss factor; coats in litres
= area × rate; rigid slabs add dowels and tie bars from slab thickness and
joint spacing, and concrete constituents from the mix of their grade."""
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models

from geo_platform import codes

ESTIMATE = "estimate"  # the tag of a value with no published source
SOURCE_HELP = "Citation of the value (standard, table, document) or 'estimate' when none"

TEMPLATE_KINDS = [
    ("flexible", "Perkerasan lentur (aspal)"),
    ("rigid", "Perkerasan kaku (beton)"),
    ("paving", "Paving block"),
    ("overlay", "Lapis tambah (overlay)"),
    ("patching", "Penambalan (patching)"),
    ("granular", "Perkerasan berbutir (kerikil)"),
    ("maintenance", "Pemeliharaan (perataan, penutupan sambungan, bongkar pasang)"),
]
MATERIAL_KINDS = [
    ("asphalt", "Campuran beraspal"),
    ("aggregate", "Agregat"),
    ("concrete", "Beton"),
    ("paving", "Paving block"),
    ("sand", "Pasir"),
    ("other", "Lainnya"),
]
# What a prime/tack coat goes on: its rate depends on it (Spek 2010 R3 Tbl 6.1.4(1), DOMAIN §2)
COAT_SURFACES = [
    ("aggregate", "LFA / lapis berbutir (lapis resap pengikat)"),
    ("new_asphalt", "Aspal baru / permukaan halus"),
    ("old_asphalt", "Aspal lama / permukaan berpori"),
    ("milled", "Permukaan hasil pengupasan (milling)"),
]
STRUCTURES = [
    ("", "Templat tetap"),
    ("flexible", "Perkerasan lentur menurut lalu lintas rencana (design_esa, else kelas)"),
    ("rigid", "Perkerasan kaku menurut lalu lintas rencana (design_esa, else kelas)"),
]
GENERAL_BASES = [
    ("percent", "Persen dari biaya fisik"),
    ("lump_sum", "Lump sum (Rp)"),
]
ROUNDINGS = [
    ("down", "Dibulatkan ke bawah"),
    ("half_up", "Dibulatkan ke terdekat"),
    ("none", "Tanpa pembulatan"),
]
PAY_BASES = [
    ("mass", "Berat padat (t)"),
    ("mass_with_loss", "Berat dengan susut (t)"),
    ("volume", "Volume padat (m³)"),
    ("area", "Luas (m²)"),
]
PAY_UNITS = {"mass": "t", "mass_with_loss": "t", "volume": "m3", "area": "m2"}


class ConcreteMix(models.Model):
    """Constituents of 1 m³ of concrete of a grade (SNI 7394:2008)."""

    grade = models.CharField("mutu", max_length=20, unique=True, help_text="e.g. K-350")
    cement_kg = models.FloatField("semen (kg/m³)")
    sand_kg = models.FloatField("pasir (kg/m³)")
    gravel_kg = models.FloatField("kerikil (kg/m³)")
    water_l = models.FloatField("air (L/m³)")
    source = models.CharField(max_length=300, help_text=SOURCE_HELP)

    class Meta:
        verbose_name = "komposisi beton"
        verbose_name_plural = "komposisi beton"
        ordering = ["grade"]

    def __str__(self):
        return self.grade


class Material(models.Model):
    code = models.CharField(max_length=40, unique=True)
    name = models.CharField("nama", max_length=200)
    density_t_m3 = models.FloatField("berat isi padat (t/m³)", validators=[MinValueValidator(0)])
    density_source = models.CharField(max_length=300, help_text=SOURCE_HELP)
    kind = models.CharField("jenis", max_length=20, choices=MATERIAL_KINDS, default="other")
    loss_factor = models.FloatField("faktor susut (agregat / seluruh material)", default=1.0, validators=[MinValueValidator(1.0)])
    loss_source = models.CharField(max_length=300, help_text=SOURCE_HELP)
    # Asphalt mixes: bitumen share of the mix by mass; its own loss factor (the aggregate share takes loss_factor)
    binder_share = models.FloatField("kadar aspal (bagian massa campuran)", null=True, blank=True,
                                     validators=[MinValueValidator(0), MaxValueValidator(0.2)])
    binder_loss_factor = models.FloatField("faktor susut aspal", default=1.0, validators=[MinValueValidator(1.0)])
    binder_source = models.CharField(max_length=300, blank=True, default="", help_text=SOURCE_HELP)
    concrete_mix = models.ForeignKey(ConcreteMix, null=True, blank=True, on_delete=models.PROTECT, related_name="materials")

    class Meta:
        verbose_name = "material"
        verbose_name_plural = "material"
        ordering = ["code"]

    def __str__(self):
        return f"{self.name} ({self.code})"


class PavementTemplate(models.Model):
    """A pavement structure (Bina Marga MDP 2017 Bagan Desain 3B, rigid,
    paving block) or a maintenance treatment (overlay, patching)."""

    code = models.CharField(max_length=40, unique=True)
    name = models.CharField("nama", max_length=200)
    kind = models.CharField("jenis", max_length=20, choices=TEMPLATE_KINDS)
    description = models.TextField(blank=True, default="")
    source = models.CharField(max_length=300, help_text=SOURCE_HELP)
    is_active = models.BooleanField(default=True)
    # Rigid pavement joints and steel (used when kind = rigid)
    joint_spacing_m = models.FloatField("jarak sambungan melintang (m)", null=True, blank=True)
    dowel_spacing_m = models.FloatField("jarak ruji (m)", null=True, blank=True)
    dowel_length_m = models.FloatField("panjang ruji (m)", null=True, blank=True)
    dowel_diameter_mm = models.FloatField("diameter ruji (mm)", null=True, blank=True,
                                          help_text="Empty: from slab thickness (DOMAIN §2 table)")
    longitudinal_joint_spacing_m = models.FloatField("jarak sambungan memanjang (m)", null=True, blank=True)
    tie_bar_diameter_mm = models.FloatField("diameter batang pengikat (mm)", null=True, blank=True)
    tie_bar_spacing_m = models.FloatField("jarak batang pengikat (m)", null=True, blank=True)
    tie_bar_length_m = models.FloatField("panjang batang pengikat (m)", null=True, blank=True)
    dowel_item = models.CharField("mata pembayaran ruji", max_length=40, blank=True, default="")
    tie_bar_item = models.CharField("mata pembayaran batang pengikat", max_length=40, blank=True, default="")
    steel_source = models.CharField(max_length=300, blank=True, default="", help_text=SOURCE_HELP)

    class Meta:
        verbose_name = "templat perkerasan"
        verbose_name_plural = "templat perkerasan"
        ordering = ["code"]

    def __str__(self):
        return f"{self.code} — {self.name}"

    def clean(self):
        if self.kind == "rigid":
            needed = ["joint_spacing_m", "dowel_spacing_m", "dowel_length_m", "longitudinal_joint_spacing_m",
                      "tie_bar_diameter_mm", "tie_bar_spacing_m", "tie_bar_length_m"]
            missing = {f: "required for a rigid template" for f in needed if not getattr(self, f)}
            if missing:
                raise ValidationError(missing)


class Layer(models.Model):
    template = models.ForeignKey(PavementTemplate, on_delete=models.CASCADE, related_name="layers")
    position = models.PositiveSmallIntegerField("urutan (atas = 1)")
    name = models.CharField("nama lapis", max_length=100)
    material = models.ForeignKey(Material, on_delete=models.PROTECT, related_name="layers")
    thickness_m = models.FloatField("tebal padat (m)", validators=[MinValueValidator(0)])
    pay_item = models.CharField("mata pembayaran", max_length=40)
    pay_basis = models.CharField(max_length=20, choices=PAY_BASES, default="volume")
    is_slab = models.BooleanField("pelat beton (ruji/pengikat)", default=False)
    source = models.CharField(max_length=300, help_text=SOURCE_HELP)

    class Meta:
        verbose_name = "lapis"
        verbose_name_plural = "lapis"
        ordering = ["template", "position"]
        constraints = [models.UniqueConstraint(fields=["template", "position"], name="estimates_layer_position_uniq")]

    def __str__(self):
        return f"{self.name} {self.thickness_m * 1000:g} mm"


class Coat(models.Model):
    template = models.ForeignKey(PavementTemplate, on_delete=models.CASCADE, related_name="coats")
    position = models.PositiveSmallIntegerField("urutan")
    name = models.CharField("nama", max_length=100)
    rate_l_m2 = models.FloatField("takaran (L/m²)", validators=[MinValueValidator(0)])
    on_surface = models.CharField("di atas permukaan", max_length=20, choices=COAT_SURFACES, default="new_asphalt")
    pay_item = models.CharField("mata pembayaran", max_length=40)
    source = models.CharField(max_length=300, help_text=SOURCE_HELP)

    class Meta:
        verbose_name = "lapis resap/perekat"
        verbose_name_plural = "lapis resap/perekat"
        ordering = ["template", "position"]
        constraints = [models.UniqueConstraint(fields=["template", "position"], name="estimates_coat_position_uniq")]

    def __str__(self):
        return f"{self.name} {self.rate_l_m2:g} L/m²"


class TemplateItem(models.Model):
    """A work item of a template measured by area (milling, grading, joint
    sealing, re-laying): quantity = area × rate_per_m2, in `unit`."""

    template = models.ForeignKey(PavementTemplate, on_delete=models.CASCADE, related_name="items")
    position = models.PositiveSmallIntegerField("urutan")
    name = models.CharField("uraian", max_length=200)
    rate_per_m2 = models.FloatField("volume per m²", validators=[MinValueValidator(0)])
    unit = models.CharField("satuan", max_length=20)
    pay_item = models.CharField("mata pembayaran", max_length=40)
    source = models.CharField(max_length=300, help_text=SOURCE_HELP)

    class Meta:
        verbose_name = "item pekerjaan templat"
        verbose_name_plural = "item pekerjaan templat"
        ordering = ["template", "position"]
        constraints = [models.UniqueConstraint(fields=["template", "position"], name="estimates_templateitem_position_uniq")]

    def __str__(self):
        return f"{self.name} {self.rate_per_m2:g} {self.unit}/m²"


class PriceList(models.Model):
    """Unit prices (HSPK/AHSP style) of a region and year. Prices are entered
    without overhead; a list whose prices already include it sets
    `prices_include_overhead` and the overhead becomes 0."""

    name = models.CharField("nama", max_length=200)
    region = models.CharField("wilayah", max_length=100, db_index=True)
    year = models.PositiveSmallIntegerField("tahun anggaran")
    currency = models.CharField(max_length=3, default="IDR")
    overhead_pct = models.DecimalField("biaya umum & keuntungan (%)", max_digits=5, decimal_places=2, default=Decimal("15"),
                                       validators=[MinValueValidator(0), MaxValueValidator(15)])
    tax_pct = models.DecimalField("PPN (%)", max_digits=5, decimal_places=2, default=Decimal("11"),
                                  validators=[MinValueValidator(0), MaxValueValidator(100)])
    prices_include_overhead = models.BooleanField(default=False)
    round_to = models.DecimalField("pembulatan total ke (Rp)", max_digits=12, decimal_places=2, default=Decimal("1000"),
                                   validators=[MinValueValidator(0)])
    rounding = models.CharField("cara pembulatan", max_length=10, choices=ROUNDINGS, default="down")
    is_active = models.BooleanField("aktif (dipakai bila tidak dipilih)", default=False)
    source = models.CharField(max_length=300, help_text=SOURCE_HELP)

    class Meta:
        verbose_name = "daftar harga satuan"
        verbose_name_plural = "daftar harga satuan"
        ordering = ["region", "-year"]
        constraints = [models.UniqueConstraint(fields=["region", "year"], name="estimates_pricelist_region_year_uniq")]

    def __str__(self):
        return f"{self.name} ({self.region} {self.year})"

    @property
    def effective_overhead_pct(self) -> Decimal:
        return Decimal("0") if self.prices_include_overhead else self.overhead_pct


class UnitPrice(models.Model):
    price_list = models.ForeignKey(PriceList, on_delete=models.CASCADE, related_name="prices")
    code = models.CharField("kode / mata pembayaran", max_length=40)
    description = models.CharField("uraian", max_length=300)
    unit = models.CharField("satuan", max_length=20)
    price = models.DecimalField("harga satuan", max_digits=16, decimal_places=2, validators=[MinValueValidator(0)])
    source = models.CharField(max_length=300, help_text=SOURCE_HELP)

    class Meta:
        verbose_name = "harga satuan"
        verbose_name_plural = "harga satuan"
        ordering = ["price_list", "code"]
        constraints = [models.UniqueConstraint(fields=["price_list", "code"], name="estimates_unitprice_code_uniq")]

    def __str__(self):
        return f"{self.code} {self.description}: {self.price}/{self.unit}"


class GeneralItem(models.Model):
    """Divisi 1 (mobilisation, traffic management) and SMKK lines of a price
    list: a percentage of the physical works or a lump sum."""

    price_list = models.ForeignKey(PriceList, on_delete=models.CASCADE, related_name="general_items")
    position = models.PositiveSmallIntegerField("urutan")
    code = models.CharField("mata pembayaran", max_length=40)
    description = models.CharField("uraian", max_length=300)
    basis = models.CharField(max_length=10, choices=GENERAL_BASES, default="percent")
    value = models.DecimalField("nilai (% atau Rp)", max_digits=16, decimal_places=2, validators=[MinValueValidator(0)])
    source = models.CharField(max_length=300, help_text=SOURCE_HELP)

    class Meta:
        verbose_name = "item umum (Divisi 1 / SMKK)"
        verbose_name_plural = "item umum (Divisi 1 / SMKK)"
        ordering = ["price_list", "position"]
        constraints = [models.UniqueConstraint(fields=["price_list", "code"], name="estimates_generalitem_code_uniq")]

    def __str__(self):
        return f"{self.code} {self.description}"


class Treatment(models.Model):
    """Surface × effective condition → treatment → template (SPEC §6,
    DOMAIN §2/§4), used by the programme. `surface` empty = any surface; a
    row for the road's own surface wins. `structure` picks the template by
    the road's design traffic instead of `template` (reconstruction,
    upgrade). `area_fraction` is the share of the carriageway it covers.
    Only an upgrade (peningkatan) may put asphalt on a non-asphalt road."""

    condition = models.CharField("kondisi", max_length=20, choices=codes.ROAD_CONDITIONS)
    surface = models.CharField("perkerasan", max_length=20, choices=codes.ROAD_SURFACES, blank=True, default="")
    name = models.CharField("penanganan", max_length=200)
    template = models.ForeignKey(PavementTemplate, on_delete=models.PROTECT, related_name="treatments", null=True, blank=True)
    structure = models.CharField("struktur menurut lalu lintas", max_length=10, choices=STRUCTURES, blank=True, default="")
    is_upgrade = models.BooleanField("peningkatan (ganti jenis perkerasan)", default=False)
    area_fraction = models.FloatField("bagian luas", default=1.0, validators=[MinValueValidator(0), MaxValueValidator(1)])
    priority = models.PositiveSmallIntegerField("prioritas (1 = pertama)", default=1)
    source = models.CharField(max_length=300, help_text=SOURCE_HELP)

    class Meta:
        verbose_name = "penanganan"
        verbose_name_plural = "penanganan"
        ordering = ["priority", "condition", "surface"]
        constraints = [models.UniqueConstraint(fields=["condition", "surface"], name="estimates_treatment_uniq")]

    def __str__(self):
        return f"{self.get_condition_display()} {self.surface or '*'} → {self.name}"

    def clean(self):
        if bool(self.template_id) == bool(self.structure):
            raise ValidationError({"template": "give either a template or a structure by traffic"})
        if self.template_id and self.surface not in ("asphalt", "") and not self.is_upgrade:
            t = self.template
            if t.layers.filter(material__kind="asphalt").exists() or t.coats.exclude(on_surface="aggregate").exists():
                raise ValidationError({"template": "an asphalt layer or tack coat on a non-asphalt road needs is_upgrade"})
