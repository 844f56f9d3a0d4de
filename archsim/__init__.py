"""archsim: SRAM vs STT-MRAM scratchpads in DNN training accelerators."""
__version__ = "0.4.0"
