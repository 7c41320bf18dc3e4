"""The system side's HTML faces. Each module owns its URL patterns; deployments/urls.py gathers them."""
