//! Exiv2's EXIF tag names, which OSS's `info` keys are (see `info.rs`), as `hex:Name` pairs.
//! Taken from Exiv2 0.27.7 `src/tags_int.cpp` (`ifdTagInfo`, `exifTagInfo`, `gpsTagInfo`,
//! `iopTagInfo`). A tag missing here is left out of the output, as OSS leaves out tags Exiv2
//! cannot name (f.jpg's 0xea1c padding).

/// IFD0/IFD1 (`Exif.Image`/`Exif.Thumbnail`), less DNG, TIFF/EP and obsolete TIFF tags.
pub(super) const IFD_NAMES: &str = "\
    b:ProcessingSoftware fe:NewSubfileType ff:SubfileType 100:ImageWidth 101:ImageLength \
    102:BitsPerSample 103:Compression 106:PhotometricInterpretation 10a:FillOrder \
    10d:DocumentName 10e:ImageDescription 10f:Make 110:Model 111:StripOffsets 112:Orientation \
    115:SamplesPerPixel 116:RowsPerStrip 117:StripByteCounts 11a:XResolution 11b:YResolution \
    11c:PlanarConfiguration 11d:PageName 128:ResolutionUnit 129:PageNumber 12d:TransferFunction \
    131:Software 132:DateTime 13b:Artist 13c:HostComputer 13d:Predictor 13e:WhitePoint \
    13f:PrimaryChromaticities 140:ColorMap 142:TileWidth 143:TileLength 144:TileOffsets \
    145:TileByteCounts 14a:SubIFDs 152:ExtraSamples 153:SampleFormat 15b:JPEGTables \
    201:JPEGInterchangeFormat 202:JPEGInterchangeFormatLength 211:YCbCrCoefficients \
    212:YCbCrSubSampling 213:YCbCrPositioning 214:ReferenceBlackWhite 2bc:XMLPacket 4746:Rating \
    4749:RatingPercent 800d:ImageID 8298:Copyright 829a:ExposureTime 829d:FNumber 83bb:IPTCNAA \
    8649:ImageResources 8769:ExifTag 8773:InterColorProfile 8822:ExposureProgram \
    8824:SpectralSensitivity 8825:GPSTag 8827:ISOSpeedRatings 9003:DateTimeOriginal 9c9b:XPTitle \
    9c9c:XPComment 9c9d:XPAuthor 9c9e:XPKeywords 9c9f:XPSubject c4a5:PrintImageMatching";
/// The Exif IFD (`Exif.Photo`).
pub(super) const EXIF_NAMES: &str = "\
    829a:ExposureTime 829d:FNumber 8822:ExposureProgram 8824:SpectralSensitivity \
    8827:ISOSpeedRatings 8828:OECF 8830:SensitivityType 8831:StandardOutputSensitivity \
    8832:RecommendedExposureIndex 8833:ISOSpeed 8834:ISOSpeedLatitudeyyy 8835:ISOSpeedLatitudezzz \
    9000:ExifVersion 9003:DateTimeOriginal 9004:DateTimeDigitized 9010:OffsetTime \
    9011:OffsetTimeOriginal 9012:OffsetTimeDigitized 9101:ComponentsConfiguration \
    9102:CompressedBitsPerPixel 9201:ShutterSpeedValue 9202:ApertureValue 9203:BrightnessValue \
    9204:ExposureBiasValue 9205:MaxApertureValue 9206:SubjectDistance 9207:MeteringMode \
    9208:LightSource 9209:Flash 920a:FocalLength 9214:SubjectArea 927c:MakerNote 9286:UserComment \
    9290:SubSecTime 9291:SubSecTimeOriginal 9292:SubSecTimeDigitized 9400:Temperature \
    9401:Humidity 9402:Pressure 9403:WaterDepth 9404:Acceleration 9405:CameraElevationAngle \
    a000:FlashpixVersion a001:ColorSpace a002:PixelXDimension a003:PixelYDimension \
    a004:RelatedSoundFile a005:InteroperabilityTag a20b:FlashEnergy a20c:SpatialFrequencyResponse \
    a20e:FocalPlaneXResolution a20f:FocalPlaneYResolution a210:FocalPlaneResolutionUnit \
    a214:SubjectLocation a215:ExposureIndex a217:SensingMethod a300:FileSource a301:SceneType \
    a302:CFAPattern a401:CustomRendered a402:ExposureMode a403:WhiteBalance a404:DigitalZoomRatio \
    a405:FocalLengthIn35mmFilm a406:SceneCaptureType a407:GainControl a408:Contrast \
    a409:Saturation a40a:Sharpness a40b:DeviceSettingDescription a40c:SubjectDistanceRange \
    a420:ImageUniqueID a430:CameraOwnerName a431:BodySerialNumber a432:LensSpecification \
    a433:LensMake a434:LensModel a435:LensSerialNumber a460:CompositeImage \
    a461:SourceImageNumberOfCompositeImage a462:SourceExposureTimesOfCompositeImage a500:Gamma";
/// The GPS IFD (`Exif.GPSInfo`).
pub(super) const GPS_NAMES: &str = "\
    0:GPSVersionID 1:GPSLatitudeRef 2:GPSLatitude 3:GPSLongitudeRef 4:GPSLongitude \
    5:GPSAltitudeRef 6:GPSAltitude 7:GPSTimeStamp 8:GPSSatellites 9:GPSStatus a:GPSMeasureMode \
    b:GPSDOP c:GPSSpeedRef d:GPSSpeed e:GPSTrackRef f:GPSTrack 10:GPSImgDirectionRef \
    11:GPSImgDirection 12:GPSMapDatum 13:GPSDestLatitudeRef 14:GPSDestLatitude \
    15:GPSDestLongitudeRef 16:GPSDestLongitude 17:GPSDestBearingRef 18:GPSDestBearing \
    19:GPSDestDistanceRef 1a:GPSDestDistance 1b:GPSProcessingMethod 1c:GPSAreaInformation \
    1d:GPSDateStamp 1e:GPSDifferential 1f:GPSHPositioningError";
/// The Interoperability IFD (`Exif.Iop`).
pub(super) const IOP_NAMES: &str = "\
    1:InteroperabilityIndex 2:InteroperabilityVersion 1000:RelatedImageFileFormat \
    1001:RelatedImageWidth 1002:RelatedImageLength";
