"""Azure-mode operators, sensors, triggers and batch_scoring on real Airflow against the emulator."""
