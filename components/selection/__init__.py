"""Which model to release: the contamination estimate (`contamination/`), cross-validation
of the candidates (`evaluation`), the released rank ensemble (`ensemble_plan`, its defaults
in `defaults`), the refit candidate (`candidate`), the threshold (`calibration`), and
ADBench's protocol for comparing methods on labelled tables (`adbench`, `wsad bench`)."""
