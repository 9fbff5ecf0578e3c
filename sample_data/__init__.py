"""Demo datasets for the dashboard and the seeded generator that makes them and the fixtures."""
