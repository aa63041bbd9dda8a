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
    loss_factor = models.FloatField("faktor susut", default=1.0, validators=[MinValueValidator(1.0)])
    loss_source = models.CharField(max_length=300, help_text=SOURCE_HELP)
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
    pay_item = models.CharField("mata pembayaran", max_length=40)
    source = models.CharField(max_length=300, help_text=SOURCE_HELP)

    class Meta:
        verbose_name = "lapis resap/perekat"
        verbose_name_plural = "lapis resap/perekat"
        ordering = ["template", "position"]
        constraints = [models.UniqueConstraint(fields=["template", "position"], name="estimates_coat_position_uniq")]

    def __str__(self):
        return f"{self.name} {self.rate_l_m2:g} L/m²"


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


class Treatment(models.Model):
    """Condition → treatment → template (DOMAIN §4), used by the programme.
    `surface` empty = any surface; a row for the road's own surface wins.
    `area_fraction` is the share of the carriageway the treatment covers."""

    condition = models.CharField("kondisi", max_length=20, choices=codes.ROAD_CONDITIONS)
    surface = models.CharField("perkerasan", max_length=20, choices=codes.ROAD_SURFACES, blank=True, default="")
    name = models.CharField("penanganan", max_length=200)
    template = models.ForeignKey(PavementTemplate, on_delete=models.PROTECT, related_name="treatments")
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
