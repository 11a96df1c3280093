"""Tenant KPIs: the metric catalogue, series and dashboard, patient surveys and scheduled KPI reports."""
