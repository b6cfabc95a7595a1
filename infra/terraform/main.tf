# An S3 bucket for a repod fleet and the least privilege its nodes need. The IAM actions below are
# exactly the S3 operations of src/storage/s3.ts (test/infra/terraform.test.ts fails when they
# drift apart):
#   s3:GetObject            GetObject, HeadObject, the source of CopyObject / UploadPartCopy, presigned GETs
#   s3:PutObject            PutObject (also conditional: If-None-Match / If-Match), CopyObject,
#                           CreateMultipartUpload, UploadPart, UploadPartCopy, CompleteMultipartUpload, presigned PUTs
#   s3:DeleteObject         DeleteObject (garbage collection, the move of a finished upload)
#   s3:AbortMultipartUpload AbortMultipartUpload (a failed upload's parts)
#   s3:ListBucket           ListObjectsV2 (garbage collection, tags), limited to the prefix
# Presigned package URLs carry the signer's permissions: clients get GetObject on the one key for
# the URL's lifetime (REPOD_PRESIGN_SECONDS), nothing else. The bucket itself stays private.

data "aws_partition" "current" {}

locals {
  key_prefix = var.prefix == "" ? "" : "${trimsuffix(var.prefix, "/")}/"
  # Built from the name (not the resource's arn) so the policy is known at plan time.
  bucket_arn = "arn:${data.aws_partition.current.partition}:s3:::${var.bucket_name}"
  object_arn = "${local.bucket_arn}/${local.key_prefix}*"
}

resource "aws_s3_bucket" "repod" {
  bucket = var.bucket_name
}

resource "aws_s3_bucket_public_access_block" "repod" {
  bucket                  = aws_s3_bucket.repod.id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_ownership_controls" "repod" {
  bucket = aws_s3_bucket.repod.id
  rule {
    object_ownership = "BucketOwnerEnforced"
  }
}

resource "aws_s3_bucket_server_side_encryption_configuration" "repod" {
  bucket = aws_s3_bucket.repod.id
  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm = "AES256"
    }
  }
}

# Versioning: an object that garbage collection (or a mistake) deletes stays recoverable for
# noncurrent_days. Conditional writes (If-Match on the ref) work on versioned buckets.
resource "aws_s3_bucket_versioning" "repod" {
  bucket = aws_s3_bucket.repod.id
  versioning_configuration {
    status = "Enabled"
  }
}

resource "aws_s3_bucket_lifecycle_configuration" "repod" {
  bucket     = aws_s3_bucket.repod.id
  depends_on = [aws_s3_bucket_versioning.repod]

  rule {
    id     = "multipart-and-old-versions"
    status = "Enabled"
    filter {}
    # Parts of uploads a killed node never completed.
    abort_incomplete_multipart_upload {
      days_after_initiation = 1
    }
    noncurrent_version_expiration {
      noncurrent_days = var.noncurrent_days
    }
    expiration {
      expired_object_delete_marker = true
    }
  }
}

data "aws_iam_policy_document" "repod" {
  statement {
    sid       = "RepodObjects"
    effect    = "Allow"
    actions   = ["s3:GetObject", "s3:PutObject", "s3:DeleteObject", "s3:AbortMultipartUpload"]
    resources = [local.object_arn]
  }

  statement {
    sid       = "RepodList"
    effect    = "Allow"
    actions   = ["s3:ListBucket"]
    resources = [local.bucket_arn]
    # With a prefix, listing is limited to it (repod always lists under its prefix).
    dynamic "condition" {
      for_each = var.prefix == "" ? [] : [local.key_prefix]
      content {
        test     = "StringLike"
        variable = "s3:prefix"
        values   = ["${condition.value}*"]
      }
    }
  }

  # Plain HTTP is refused even with valid keys.
  statement {
    sid       = "RepodTlsOnly"
    effect    = "Deny"
    actions   = ["s3:*"]
    resources = [local.bucket_arn, "${local.bucket_arn}/*"]
    condition {
      test     = "Bool"
      variable = "aws:SecureTransport"
      values   = ["false"]
    }
  }
}

resource "aws_iam_policy" "repod" {
  name        = "repod-${var.bucket_name}"
  description = "repod nodes: read, write, list and clean up s3://${var.bucket_name}/${local.key_prefix}"
  policy      = data.aws_iam_policy_document.repod.json
}

resource "aws_iam_user" "repod" {
  count = var.create_user ? 1 : 0
  name  = "repod-${var.bucket_name}"
}

resource "aws_iam_user_policy_attachment" "repod" {
  count      = var.create_user ? 1 : 0
  user       = aws_iam_user.repod[0].name
  policy_arn = aws_iam_policy.repod.arn
}

resource "aws_iam_access_key" "repod" {
  count = var.create_user ? 1 : 0
  user  = aws_iam_user.repod[0].name
}

resource "aws_iam_role_policy_attachment" "repod" {
  count      = var.role_name == "" ? 0 : 1
  role       = var.role_name
  policy_arn = aws_iam_policy.repod.arn
}
