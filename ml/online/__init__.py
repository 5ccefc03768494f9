"""Online (pen-dynamics) verification of pad signatures.

``convert``  the shared online datasets (SVC2004 task 2, SUSIG) to stroke-JSON writer folders;
``features`` timing repair, resampling by time and device-robust features;
``dtw``      batched dynamic time warping (NumPy);
``verifier`` per-writer normalised DTW scores, calibration and fusion with the image score;
``calibrate`` choosing and fitting those on validation users;
``evaluate`` ``python -m ml evaluate`` on stroke-JSON writer folders.
"""
