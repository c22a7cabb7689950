"""The dataset registry and everything generated from it: DDL, dbt sources, GX suites and project."""
