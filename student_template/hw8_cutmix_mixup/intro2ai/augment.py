"""CutMix and Mixup on numpy batches (HW8 Q1-Q4, Q6).

Layout, as everywhere in intro2ai: a batch is (N, C, H, W), one image is (C, H, W): axis 1 of an
image is its height (rows, y), axis 2 its width (columns, x). A box is (xa, ya, xb, yb), integers
with 0 <= xa <= xb <= W and 0 <= ya <= yb <= H: it covers rows ya:yb and columns xa:xb.

Randomness comes only from the `rng` argument (a numpy.random.Generator), so a run can be repeated
with the same seed. A label is either a class index (an int) or a row of length num_classes (one-hot
or already mixed); mixed labels are float64 rows summing to 1.
"""

import numpy as np


def to_one_hot(label, num_classes):
    """A label as a float64 row of length num_classes (given).

    An int (or 0-d array) becomes a one-hot row; a row (one-hot or mixed) is returned as float64.
    """
    label = np.asarray(label)
    if label.ndim == 0:
        row = np.zeros(num_classes)
        row[int(label)] = 1.0
        return row
    return label.astype(np.float64)


def get_clip_box(rng, H, W, alpha=1.0):
    """Draws a CutMix box for an image of height H and width W.

    lam ~ Beta(alpha, alpha); the box's sides are r_w = W * sqrt(1 - lam) (width) and
    r_h = H * sqrt(1 - lam) (height), rounded down to integers; its centre (cx, cy) is a pixel
    drawn uniformly (cx in 0..W-1, cy in 0..H-1); the box runs from centre - side // 2 to
    centre + side // 2 on each axis and is clipped to the image.

    Inputs:
    - rng: numpy.random.Generator, the only source of randomness
    - H, W: image height and width (they may differ)
    - alpha: parameter of the Beta distribution

    Returns a tuple of ints (xa, ya, xb, yb) with 0 <= xa <= xb <= W and 0 <= ya <= yb <= H.
    """
    xa = ya = xb = yb = None
    ###########################################################################
    # TODO: Draw lam, the box's sides and centre, and clip the box to the     #
    # image. Height goes with H, width with W.                                #
    ###########################################################################
    # *****START OF YOUR CODE (DO NOT DELETE/MODIFY THIS LINE)*****
    raise NotImplementedError("get_clip_box: not implemented yet — write your code between the START/END OF YOUR CODE lines in intro2ai/augment.py")
    # *****END OF YOUR CODE (DO NOT DELETE/MODIFY THIS LINE)*****
    ###########################################################################
    #                             END OF YOUR CODE                            #
    ###########################################################################
    return xa, ya, xb, yb


def mix_2_images(image_a, image_b, box):
    """CutMix of two images: image_a with the box's pixels taken from image_b.

    Inputs:
    - image_a, image_b: arrays of shape (C, H, W)
    - box: (xa, ya, xb, yb) as returned by get_clip_box

    Returns a new array of shape (C, H, W) and the dtype of image_a; the inputs are not modified.
    """
    mixed_img = None
    ###########################################################################
    # TODO: Paste rows ya:yb, columns xa:xb of image_b (every channel) into a #
    # copy of image_a.                                                        #
    ###########################################################################
    # *****START OF YOUR CODE (DO NOT DELETE/MODIFY THIS LINE)*****
    raise NotImplementedError("mix_2_images: not implemented yet — write your code between the START/END OF YOUR CODE lines in intro2ai/augment.py")
    # *****END OF YOUR CODE (DO NOT DELETE/MODIFY THIS LINE)*****
    ###########################################################################
    #                             END OF YOUR CODE                            #
    ###########################################################################
    return mixed_img


def mix_2_label(label_a, label_b, box, H, W, num_classes):
    """The label of a CutMix image: the classes weighted by the pixels each image gives.

    With a = (pixels of the box) / (H * W), the pasted fraction of the image, the mixed label is
    (1 - a) * label_a + a * label_b, the labels taken as rows (see to_one_hot).

    Inputs:
    - label_a, label_b: class indices or rows of length num_classes
    - box: (xa, ya, xb, yb), the box mix_2_images pasted (already clipped to the image)
    - H, W: image height and width
    - num_classes: length of a label row

    Returns a float64 array of shape (num_classes,).
    """
    mixed_label = None
    ###########################################################################
    # TODO: Weight the two labels by the area the box really covers.         #
    ###########################################################################
    # *****START OF YOUR CODE (DO NOT DELETE/MODIFY THIS LINE)*****
    raise NotImplementedError("mix_2_label: not implemented yet — write your code between the START/END OF YOUR CODE lines in intro2ai/augment.py")
    # *****END OF YOUR CODE (DO NOT DELETE/MODIFY THIS LINE)*****
    ###########################################################################
    #                             END OF YOUR CODE                            #
    ###########################################################################
    return mixed_label


def cutmix(images, labels, rng, alpha=1.0, num_classes=10):
    """CutMix on a batch: every image gets a box from a partner drawn at random from the batch.

    For each i in 0..N-1: draw a partner j uniformly from 0..N-1 (j may equal i), draw a box with
    get_clip_box, and build the i-th output with mix_2_images(images[i], images[j], box) and
    mix_2_label(labels[i], labels[j], box, H, W, num_classes).

    Inputs:
    - images: array of shape (N, C, H, W)
    - labels: class indices of shape (N,) or label rows of shape (N, num_classes)
    - rng: numpy.random.Generator
    - alpha: Beta parameter for get_clip_box
    - num_classes: length of a label row

    Returns a tuple of:
    - mixed_imgs: array of shape (N, C, H, W), the dtype of images
    - mixed_labels: float64 array of shape (N, num_classes)
    """
    mixed_imgs, mixed_labels = None, None
    ###########################################################################
    # TODO: Mix every image of the batch with a random partner of the batch.  #
    ###########################################################################
    # *****START OF YOUR CODE (DO NOT DELETE/MODIFY THIS LINE)*****
    raise NotImplementedError("cutmix: not implemented yet — write your code between the START/END OF YOUR CODE lines in intro2ai/augment.py")
    # *****END OF YOUR CODE (DO NOT DELETE/MODIFY THIS LINE)*****
    ###########################################################################
    #                             END OF YOUR CODE                            #
    ###########################################################################
    return mixed_imgs, mixed_labels


def mixup_2_images(image_a, image_b, label_a, label_b, lam, num_classes):
    """Mixup of two examples with a given ratio lam.

    mixed_image = (1 - lam) * image_a + lam * image_b, and the same for the labels taken as rows.

    Inputs:
    - image_a, image_b: arrays of the same shape, e.g. (C, H, W)
    - label_a, label_b: class indices or rows of length num_classes
    - lam: the mixing ratio, 0 <= lam <= 1
    - num_classes: length of a label row

    Returns a tuple (mixed_image of the shape and dtype of image_a, mixed_label float64 (num_classes,)).
    """
    mixed_image, mixed_label = None, None
    ###########################################################################
    # TODO: Mix the images and the labels with the same lam.                  #
    ###########################################################################
    # *****START OF YOUR CODE (DO NOT DELETE/MODIFY THIS LINE)*****
    raise NotImplementedError("mixup_2_images: not implemented yet — write your code between the START/END OF YOUR CODE lines in intro2ai/augment.py")
    # *****END OF YOUR CODE (DO NOT DELETE/MODIFY THIS LINE)*****
    ###########################################################################
    #                             END OF YOUR CODE                            #
    ###########################################################################
    return mixed_image, mixed_label


def mixup(images, labels, rng, alpha=1.0, num_classes=10):
    """Mixup on a batch: every image is mixed with a random partner of the batch.

    For each i in 0..N-1: draw a partner j uniformly from 0..N-1 (j may equal i) and
    lam ~ Beta(alpha, alpha), and build the i-th output with
    mixup_2_images(images[i], images[j], labels[i], labels[j], lam, num_classes).

    Inputs and returns: as cutmix.
    """
    mixed_imgs, mixed_labels = None, None
    ###########################################################################
    # TODO: Mix every image of the batch with a random partner of the batch.  #
    ###########################################################################
    # *****START OF YOUR CODE (DO NOT DELETE/MODIFY THIS LINE)*****
    raise NotImplementedError("mixup: not implemented yet — write your code between the START/END OF YOUR CODE lines in intro2ai/augment.py")
    # *****END OF YOUR CODE (DO NOT DELETE/MODIFY THIS LINE)*****
    ###########################################################################
    #                             END OF YOUR CODE                            #
    ###########################################################################
    return mixed_imgs, mixed_labels
