"""Templates, materials, prices and treatments are data: edit them here."""
from django.contrib import admin

from estimates.models import (
    Coat, ConcreteMix, GeneralItem, Layer, Material, PavementTemplate, PriceList, TemplateItem, Treatment, UnitPrice,
)


class LayerInline(admin.TabularInline):
    model = Layer
    extra = 0
    fields = ("position", "name", "material", "thickness_m", "pay_item", "pay_basis", "is_slab", "source")


class CoatInline(admin.TabularInline):
    model = Coat
    extra = 0
    fields = ("position", "name", "rate_l_m2", "on_surface", "pay_item", "source")


class TemplateItemInline(admin.TabularInline):
    model = TemplateItem
    extra = 0
    fields = ("position", "name", "rate_per_m2", "unit", "pay_item", "source")


class GeneralItemInline(admin.TabularInline):
    model = GeneralItem
    extra = 0
    fields = ("position", "code", "description", "basis", "value", "source")


@admin.register(PavementTemplate)
class PavementTemplateAdmin(admin.ModelAdmin):
    list_display = ("code", "name", "kind", "is_active", "source")
    list_filter = ("kind", "is_active")
    search_fields = ("code", "name")
    inlines = [LayerInline, CoatInline, TemplateItemInline]
    fieldsets = [
        (None, {"fields": ("code", "name", "kind", "description", "source", "is_active")}),
        ("Perkerasan kaku: sambungan dan baja", {"classes": ("collapse",), "fields": (
            "joint_spacing_m", "dowel_spacing_m", "dowel_length_m", "dowel_diameter_mm", "longitudinal_joint_spacing_m",
            "tie_bar_diameter_mm", "tie_bar_spacing_m", "tie_bar_length_m", "dowel_item", "tie_bar_item", "steel_source")}),
    ]


@admin.register(Material)
class MaterialAdmin(admin.ModelAdmin):
    list_display = ("code", "name", "kind", "density_t_m3", "loss_factor", "binder_share", "binder_loss_factor", "loss_source", "concrete_mix")
    search_fields = ("code", "name")


@admin.register(ConcreteMix)
class ConcreteMixAdmin(admin.ModelAdmin):
    list_display = ("grade", "cement_kg", "sand_kg", "gravel_kg", "water_l", "source")


class UnitPriceInline(admin.TabularInline):
    model = UnitPrice
    extra = 0
    fields = ("code", "description", "unit", "price", "source")


@admin.register(PriceList)
class PriceListAdmin(admin.ModelAdmin):
    list_display = ("name", "region", "year", "overhead_pct", "tax_pct", "prices_include_overhead", "round_to", "rounding", "is_active")
    list_filter = ("region", "year", "is_active")
    inlines = [GeneralItemInline, UnitPriceInline]


@admin.register(UnitPrice)
class UnitPriceAdmin(admin.ModelAdmin):
    list_display = ("code", "description", "unit", "price", "price_list", "source")
    list_filter = ("price_list",)
    search_fields = ("code", "description")


@admin.register(Treatment)
class TreatmentAdmin(admin.ModelAdmin):
    list_display = ("condition", "surface", "name", "template", "structure", "is_upgrade", "area_fraction", "priority", "source")
    list_filter = ("surface", "condition", "is_upgrade")
